import { describe, expect, it } from "vitest";
import { registerRequests, senderCheck, type SenderEvent } from "../../src/main/ipc/router.js";
import { REQUEST_CHANNELS } from "../../src/main/ipc/schemas.js";

/** A stand-in for Electron's ipcMain: the boundary the router sees. */
class FakeIpcMain {
  handlers = new Map<string, (event: SenderEvent, args: unknown) => Promise<unknown>>();
  handle(channel: string, handler: (event: SenderEvent, args: unknown) => Promise<unknown>) {
    this.handlers.set(channel, handler);
  }
  invoke(channel: string, event: SenderEvent, args: unknown) {
    return this.handlers.get(channel)!(event, args);
  }
}

describe("the IPC router", () => {
  const window = { id: "the-window" };
  const origin = "file:///app/out/renderer/index.html";
  const trusted: SenderEvent = { sender: window, senderFrame: { url: origin } };

  it("registers every channel of the contract and answers trusted requests", async () => {
    const ipc = new FakeIpcMain();
    const calls: string[] = [];
    registerRequests(
      ipc,
      { request: async (channel) => (calls.push(channel), { echoed: channel }) },
      senderCheck(
        () => window,
        () => origin,
      ),
    );
    expect([...ipc.handlers.keys()].sort()).toEqual([...REQUEST_CHANNELS].sort());
    expect(await ipc.invoke("app:snapshot", trusted, {})).toEqual({
      ok: true,
      result: { echoed: "app:snapshot" },
    });
    expect(calls).toEqual(["app:snapshot"]);
  });

  it("refuses other windows, other pages and frames, without calling the handler", async () => {
    const ipc = new FakeIpcMain();
    let called = false;
    registerRequests(
      ipc,
      { request: async () => (called = true) },
      senderCheck(
        () => window,
        () => origin,
      ),
    );
    for (const event of [
      { sender: { id: "another-window" }, senderFrame: { url: origin } },
      { sender: window, senderFrame: { url: "https://evil.example/" } },
      { sender: window, senderFrame: null },
    ]) {
      expect(await ipc.invoke("session:send-text", event, { text: "hi" })).toMatchObject({
        ok: false,
        error: { code: "forbidden" },
      });
    }
    expect(called).toBe(false);
  });

  it("turns handler errors into readable replies", async () => {
    const ipc = new FakeIpcMain();
    registerRequests(
      ipc,
      {
        request: async () => {
          throw Object.assign(new Error("Invalid session:send-text request: text too small"), {
            code: "invalid-argument",
          });
        },
      },
      () => true,
    );
    expect(await ipc.invoke("session:send-text", trusted, { text: "" })).toEqual({
      ok: false,
      error: { code: "invalid-argument", message: "Invalid session:send-text request: text too small" },
    });
  });
});
