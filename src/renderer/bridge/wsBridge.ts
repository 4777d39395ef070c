import type {
  AppEvent,
  AudioChunk,
  DuetBridge,
  RequestArgs,
  RequestChannel,
  RequestResult,
} from "../../shared/ipc/contract.js";
import { createListeners, unwrapReply } from "../../shared/ipc/bridgeCore.js";
import type { SocketFromHarness, SocketToHarness } from "../../shared/ipc/wire.js";

/**
 * The same bridge as the Electron preload, over a WebSocket to the dev harness (plain Node), so
 * the window can run in an ordinary browser against the real engine.
 */
export function createWebSocketBridge(url: string): DuetBridge {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const open = new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`Cannot reach the Duet harness at ${url}.`)), {
      once: true,
    });
  });
  const pending = new Map<number, (reply: unknown) => void>();
  const listeners = createListeners<AppEvent, AudioChunk>();
  let nextId = 1;
  socket.addEventListener("message", (message: MessageEvent) => {
    if (message.data instanceof ArrayBuffer) {
      // Binary frames: 4 bytes chunk id, 4 bytes sample rate, then float32 samples.
      const view = new DataView(message.data);
      listeners.emitAudio({
        chunkId: view.getUint32(0, true),
        sampleRate: view.getUint32(4, true),
        samples: new Float32Array(message.data.slice(8)),
      });
      return;
    }
    const data = JSON.parse(String(message.data)) as SocketFromHarness;
    if (data.kind === "reply") {
      if (data.id === null) return;
      const settle = pending.get(data.id);
      pending.delete(data.id);
      settle?.(data);
    } else if (data.kind === "events") {
      listeners.emitEvents(data.events);
    }
  });
  return {
    async request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
      await open;
      const id = nextId++;
      const reply = await new Promise<unknown>((resolve) => {
        pending.set(id, resolve);
        const request: SocketToHarness = { kind: "request", id, channel, args };
        socket.send(JSON.stringify(request));
      });
      // The error carries the reply's code as sent.
      return unwrapReply(reply, (code, message) =>
        Object.assign(new Error(message), { code }),
      ) as RequestResult<C>;
    },
    sendAudio(samples) {
      if (socket.readyState === WebSocket.OPEN)
        socket.send(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength));
    },
    onEvent: listeners.onEvent,
    onAudio: listeners.onAudio,
  };
}
