/**
 * The narrow bridge between Duet's window and the main process, exposed as `window.duet`. It
 * carries requests on a fixed list of channels, microphone frames out and events and audio in;
 * nothing else of Electron or Node reaches the page.
 */
import { contextBridge, ipcRenderer } from "electron";
import { REQUEST_CHANNELS } from "../main/ipc/channels.js";
import type {
  AppEvent,
  AudioChunk,
  DuetBridge,
  RequestArgs,
  RequestChannel,
  RequestResult,
} from "../main/ipc/contract.js";
import { createListeners, unwrapReply, type WireReply } from "../shared/bridgeCore.js";

const listeners = createListeners<AppEvent, AudioChunk>();
let port: MessagePort | undefined;
const early: Float32Array[] = [];

ipcRenderer.on("duet:port", (event) => {
  port = event.ports[0];
  if (!port) return;
  port.onmessage = (message: MessageEvent) => {
    const data = message.data as { kind: string; events?: AppEvent[]; chunk?: AudioChunk };
    if (data.kind === "events" && Array.isArray(data.events)) listeners.emitEvents(data.events);
    if (data.kind === "audio" && data.chunk) listeners.emitAudio(data.chunk);
  };
  for (const samples of early.splice(0)) port.postMessage({ kind: "audio", samples });
});

class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const bridge: DuetBridge = {
  async request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
    if (!REQUEST_CHANNELS.includes(channel))
      throw new BridgeError("invalid-argument", `Unknown request ${String(channel)}.`);
    const reply = (await ipcRenderer.invoke(channel, args)) as WireReply<RequestResult<C>>;
    return unwrapReply(reply, (code, message) => new BridgeError(code ?? "internal", message));
  },
  sendAudio(samples: Float32Array) {
    if (!(samples instanceof Float32Array)) return;
    if (port) port.postMessage({ kind: "audio", samples });
    else if (early.length < 100) early.push(samples);
  },
  onEvent: listeners.onEvent,
  onAudio: listeners.onAudio,
};

contextBridge.exposeInMainWorld("duet", bridge);
