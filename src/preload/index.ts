/**
 * The narrow bridge between Duet's window and the main process, exposed as `window.duet`. It
 * carries requests on a fixed list of channels, microphone frames out and events and audio in;
 * nothing else of Electron or Node reaches the page.
 */
import { contextBridge, ipcRenderer } from "electron";
import type { AppEvent, AudioChunk, DuetBridge, RequestArgs, RequestChannel, RequestError, RequestResult } from "../main/ipc/contract.js";

const CHANNELS: readonly RequestChannel[] = [
  "app:snapshot",
  "session:push-to-talk",
  "session:send-text",
  "session:stop",
  "playback:report",
  "settings:update",
  "models:list",
  "models:download",
  "models:cancel",
  "models:import",
  "models:remove",
  "models:recommend",
  "voice:preview",
];

const eventListeners = new Set<(event: AppEvent) => void>();
const audioListeners = new Set<(chunk: AudioChunk) => void>();
let port: MessagePort | undefined;
const early: Float32Array[] = [];

ipcRenderer.on("duet:port", (event) => {
  port = event.ports[0];
  if (!port) return;
  port.onmessage = (message: MessageEvent) => {
    const data = message.data as { kind: string; events?: AppEvent[]; chunk?: AudioChunk };
    if (data.kind === "events" && Array.isArray(data.events)) for (const e of data.events) for (const l of eventListeners) l(e);
    if (data.kind === "audio" && data.chunk) for (const l of audioListeners) l(data.chunk);
  };
  for (const samples of early.splice(0)) port.postMessage({ kind: "audio", samples });
});

class BridgeError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const bridge: DuetBridge = {
  async request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
    if (!CHANNELS.includes(channel)) throw new BridgeError("invalid-argument", `Unknown request ${String(channel)}.`);
    const reply = (await ipcRenderer.invoke(channel, args)) as { ok: boolean; result?: RequestResult<C>; error?: RequestError };
    if (!reply.ok) throw new BridgeError(reply.error?.code ?? "internal", reply.error?.message ?? "The request failed.");
    return reply.result as RequestResult<C>;
  },
  sendAudio(samples: Float32Array) {
    if (!(samples instanceof Float32Array)) return;
    if (port) port.postMessage({ kind: "audio", samples });
    else if (early.length < 100) early.push(samples);
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

contextBridge.exposeInMainWorld("duet", bridge);
