/**
 * The dev harness's WebSocket (what the browser tests drive the window through) under bad frames:
 * every frame gets a reply or a close with a reason, and the harness keeps running.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startHarness, type Harness } from "../helpers/browserHarness.js";

let harness: Harness;

beforeAll(async () => {
  // No model and no built window are needed: only the socket is under test.
  harness = await startHarness({}, mkdtempSync(join(tmpdir(), "duet-empty-renderer-")));
}, 60_000);
afterAll(async () => harness?.stop());

interface Outcome {
  replies: Array<Record<string, unknown>>;
  closed?: { code: number; reason: string };
}

/** Opens a socket as the harness's own page would, sends `frames`, and collects what comes back. */
async function exchange(
  frames: Array<string | Buffer | { binary: Buffer }>,
  waitForReplies: number,
): Promise<Outcome> {
  const address = new URL(harness.url);
  const socket = new WebSocket(`ws://${address.host}/bridge`, { origin: `http://${address.host}` });
  const outcome: Outcome = { replies: [] };
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const done = new Promise<void>((resolve) => {
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (message.kind !== "reply") return;
      outcome.replies.push(message);
      if (outcome.replies.length >= waitForReplies) resolve();
    });
    socket.on("close", (code, reason) => {
      outcome.closed = { code, reason: reason.toString() };
      resolve();
    });
  });
  for (const frame of frames) {
    if (typeof frame === "object" && "binary" in frame) socket.send(frame.binary, { binary: true });
    else socket.send(frame, { binary: false });
  }
  await done;
  socket.terminate();
  return outcome;
}

/** The harness still answers a valid request. */
async function stillUp(): Promise<void> {
  const { replies } = await exchange(
    [JSON.stringify({ kind: "request", id: 7, channel: "app:snapshot", args: {} })],
    1,
  );
  expect(replies[0]).toMatchObject({ kind: "reply", id: 7, ok: true });
}

describe("the harness socket under bad frames", () => {
  it.each([
    ["a bare null", "null", /must be a JSON object/],
    ["an array", "[1,2]", /must be a JSON object/],
    ["malformed JSON", "{kind: request", /not JSON/],
    [
      "a request without an id",
      JSON.stringify({ kind: "request", channel: "app:snapshot" }),
      /id: <integer>/,
    ],
    [
      "a non-numeric id",
      JSON.stringify({ kind: "request", id: "7", channel: "app:snapshot" }),
      /id: <integer>/,
    ],
    ["an unknown kind", JSON.stringify({ kind: "hello", id: 1 }), /kind: "request"/],
  ])("answers %s with a readable error and stays up", async (_name, frame, message) => {
    const { replies } = await exchange([frame], 1);
    expect(replies[0]).toMatchObject({ kind: "reply", ok: false, error: { code: "invalid-argument" } });
    expect(String((replies[0]!.error as { message: string }).message)).toMatch(message);
    await stillUp();
  });

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])(
    "treats the channel name %s as unknown, not as an internal error",
    async (channel) => {
      const { replies } = await exchange([JSON.stringify({ kind: "request", id: 3, channel, args: {} })], 1);
      expect(replies[0]).toMatchObject({
        id: 3,
        ok: false,
        error: { code: "invalid-argument", message: `Unknown request "${channel}".` },
      });
    },
  );

  it("closes the socket with a reason on a text frame that is not UTF-8, and stays up", async () => {
    const { closed } = await exchange([Buffer.from([0x7b, 0xff, 0xfe, 0x7d])], 1);
    expect(closed?.code).toBe(1007);
    await stillUp();
  });

  it("closes the socket with a reason on an oversized frame, and stays up", async () => {
    const { closed } = await exchange([Buffer.alloc(2 * 1024 * 1024, 0x61).toString()], 1);
    expect(closed?.code).toBe(1009);
    await stillUp();
  });

  it("closes the socket with a reason on a malformed audio frame, and stays up", async () => {
    const { closed } = await exchange([{ binary: Buffer.alloc(7) }], 1);
    expect(closed).toMatchObject({ code: 1003, reason: expect.stringMatching(/float32 samples/) });
    await stillUp();
  });
});
