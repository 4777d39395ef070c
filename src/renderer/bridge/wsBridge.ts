import type { AppEvent, AudioChunk, DuetBridge, RequestArgs, RequestChannel, RequestResult } from "../../main/ipc/contract.js";

/**
 * The same bridge as the Electron preload, over a WebSocket to the dev harness (plain Node), so
 * the window can run in an ordinary browser against the real engine.
 */
export function createWebSocketBridge(url: string): DuetBridge {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const open = new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`Cannot reach the Duet harness at ${url}.`)), { once: true });
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const eventListeners = new Set<(event: AppEvent) => void>();
  const audioListeners = new Set<(chunk: AudioChunk) => void>();
  let nextId = 1;
  socket.addEventListener("message", (message: MessageEvent) => {
    if (message.data instanceof ArrayBuffer) {
      // Binary frames: 4 bytes chunk id, 4 bytes sample rate, then float32 samples.
      const view = new DataView(message.data);
      const chunk: AudioChunk = { chunkId: view.getUint32(0, true), sampleRate: view.getUint32(4, true), samples: new Float32Array(message.data.slice(8)) };
      for (const l of audioListeners) l(chunk);
      return;
    }
    const data = JSON.parse(String(message.data)) as
      | { kind: "reply"; id: number; ok: boolean; result?: unknown; error?: { code: string; message: string } }
      | { kind: "events"; events: AppEvent[] };
    if (data.kind === "reply") {
      const entry = pending.get(data.id);
      pending.delete(data.id);
      if (!entry) return;
      if (data.ok) entry.resolve(data.result);
      else entry.reject(Object.assign(new Error(data.error?.message ?? "The request failed."), { code: data.error?.code }));
    } else if (data.kind === "events") {
      for (const e of data.events) for (const l of eventListeners) l(e);
    }
  });
  return {
    async request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
      await open;
      const id = nextId++;
      return new Promise<RequestResult<C>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        socket.send(JSON.stringify({ kind: "request", id, channel, args }));
      });
    },
    sendAudio(samples) {
      if (socket.readyState === WebSocket.OPEN) socket.send(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength));
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onAudio(listener) {
      audioListeners.add(listener);
      return () => audioListeners.delete(listener);
    },
  };
}
