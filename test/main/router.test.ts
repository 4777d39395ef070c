import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { handleRequest, type RequestHandlers } from "../../src/main/ipc/requests.js";
import { registerRequests, senderCheck, type SenderEvent } from "../../src/main/ipc/router.js";
import { requestSchemas, type RequestChannel } from "../../src/shared/ipc/contract.js";
import { REQUEST_IPC_CHANNEL } from "../../src/shared/ipc/wire.js";

/** A stand-in for Electron's ipcMain: the boundary the router sees. */
class FakeIpcMain {
  handlers = new Map<string, (event: SenderEvent, payload: unknown) => Promise<unknown>>();
  handle(channel: string, handler: (event: SenderEvent, payload: unknown) => Promise<unknown>) {
    this.handlers.set(channel, handler);
  }
  invoke(event: SenderEvent, payload: unknown) {
    return this.handlers.get(REQUEST_IPC_CHANNEL)!(event, payload);
  }
}

/** Handlers that record their calls and echo the channel. */
function recordingHandlers(calls: Array<{ channel: string; args: unknown }>): RequestHandlers {
  const entries = (Object.keys(requestSchemas) as RequestChannel[]).map((channel) => [
    channel,
    (args: unknown) => {
      calls.push({ channel, args });
      return null;
    },
  ]);
  return Object.fromEntries(entries) as RequestHandlers;
}

describe("the IPC router", () => {
  const window = { id: "the-window" };
  const origin = "file:///app/out/renderer/index.html";
  const trusted: SenderEvent = { sender: window, senderFrame: { url: origin } };
  const check = senderCheck(
    () => window,
    () => origin,
  );

  it("answers a trusted, valid request through its one handler", async () => {
    const ipc = new FakeIpcMain();
    const calls: Array<{ channel: string; args: unknown }> = [];
    registerRequests(ipc, recordingHandlers(calls), check);
    expect([...ipc.handlers.keys()]).toEqual([REQUEST_IPC_CHANNEL]);
    expect(await ipc.invoke(trusted, { channel: "session:send-text", args: { text: "hi" } })).toEqual({
      ok: true,
      result: null,
    });
    expect(calls).toEqual([{ channel: "session:send-text", args: { text: "hi" } }]);
  });

  it("refuses other windows, other pages and frames, without calling a handler", async () => {
    const ipc = new FakeIpcMain();
    const calls: Array<{ channel: string; args: unknown }> = [];
    registerRequests(ipc, recordingHandlers(calls), check);
    for (const event of [
      { sender: { id: "another-window" }, senderFrame: { url: origin } },
      { sender: window, senderFrame: { url: "https://evil.example/" } },
      { sender: window, senderFrame: null },
    ]) {
      expect(await ipc.invoke(event, { channel: "session:send-text", args: { text: "hi" } })).toMatchObject({
        ok: false,
        error: { code: "forbidden" },
      });
    }
    expect(calls).toEqual([]);
  });

  it("answers every malformed request with a readable error, and never reaches a handler", async () => {
    const ipc = new FakeIpcMain();
    const calls: Array<{ channel: string; args: unknown }> = [];
    registerRequests(ipc, recordingHandlers(calls), check);
    const cases: Array<[unknown, RegExp]> = [
      [null, /must be an object/],
      ["app:snapshot", /must be an object/],
      [{ channel: "no:such", args: {} }, /Unknown request "no:such"/],
      // Names every object has must not reach an internal error.
      [{ channel: "constructor", args: {} }, /Unknown request "constructor"/],
      [{ channel: "__proto__", args: {} }, /Unknown request "__proto__"/],
      [{ channel: "toString", args: {} }, /Unknown request "toString"/],
      [{ channel: 42, args: {} }, /Unknown request number/],
      [{ channel: "session:send-text", args: { text: 42 } }, /Invalid session:send-text request: text/],
      [{ channel: "session:push-to-talk", args: { down: "yes" } }, /down/],
      [{ channel: "playback:report", args: { chunkId: -1, event: "ended" } }, /chunkId/],
      [{ channel: "models:download", args: { id: "x", extra: true } }, /Invalid models:download/],
      [{ channel: "settings:update", args: { patch: { hardware: { gpu: "quantum" } } } }, /hardware\.gpu/],
      [{ channel: "settings:update", args: { patch: { nonsense: 1 } } }, /nonsense/],
      [{ channel: "session:send-text", args: { text: "" } }, /^The message is empty\.$/],
      [{ channel: "session:send-text", args: { text: "x".repeat(200_001) } }, /too long to send/],
    ];
    for (const [payload, message] of cases) {
      const reply = (await ipc.invoke(trusted, payload)) as {
        ok: boolean;
        error?: { code: string; message: string };
      };
      expect(reply.ok).toBe(false);
      expect(reply.error?.code).toBe("invalid-argument");
      expect(reply.error?.message).toMatch(message);
    }
    expect(calls).toEqual([]);
  });

  it("turns a handler's error into a reply with its code and message", async () => {
    const handlers = recordingHandlers([]);
    handlers["session:stop"] = () => {
      throw Object.assign(new Error("The engine is busy."), { code: "engine-busy" });
    };
    const ipc = new FakeIpcMain();
    registerRequests(ipc, handlers, () => true);
    expect(await ipc.invoke(trusted, { channel: "session:stop", args: {} })).toEqual({
      ok: false,
      error: { code: "engine-busy", message: "The engine is busy." },
    });
    await expect(handleRequest(handlers, "session:stop", {})).rejects.toThrow(/busy/);
  });

  it("explains a file-system failure in a handler in words, not Node's errno message", async () => {
    const blocker = join(mkdtempSync(join(tmpdir(), "duet-router-")), "blocker");
    writeFileSync(blocker, "a file\n");
    const handlers = recordingHandlers([]);
    handlers["session:stop"] = () => {
      mkdirSync(join(blocker, "folder"));
      return null;
    };
    const ipc = new FakeIpcMain();
    registerRequests(ipc, handlers, () => true);
    expect(await ipc.invoke(trusted, { channel: "session:stop", args: {} })).toEqual({
      ok: false,
      error: {
        code: "ENOTDIR",
        message: `Duet cannot create ${join(blocker, "folder")}: part of that path is a file, not a folder. Fix: set DUET_DATA_DIR to another folder.`,
      },
    });
  });
});
