/**
 * The narrow bridge between Duet's window and the main process, exposed as `window.duet`. It
 * carries requests on one channel (the main process checks the sender and validates each one),
 * microphone frames out, and events and audio in; nothing else of Electron or Node reaches the page.
 */
import { contextBridge, ipcRenderer, webUtils } from "electron";
import type {
  AppEvent,
  AudioChunk,
  DuetBridge,
  RequestArgs,
  RequestChannel,
  RequestResult,
} from "../shared/ipc/contract.js";
import { createListeners, unwrapReply } from "../shared/ipc/bridgeCore.js";
import {
  PORT_IPC_CHANNEL,
  REQUEST_IPC_CHANNEL,
  type PortMessageFromWindow,
  type PortMessageToWindow,
} from "../shared/ipc/wire.js";

const listeners = createListeners<AppEvent, AudioChunk>();
let port: MessagePort | undefined;
const early: Float32Array[] = [];

function sendFrame(target: MessagePort, samples: Float32Array): void {
  const message: PortMessageFromWindow = { kind: "audio", samples };
  target.postMessage(message);
}

ipcRenderer.on(PORT_IPC_CHANNEL, (event) => {
  port = event.ports[0];
  if (!port) return;
  port.onmessage = (message: MessageEvent<PortMessageToWindow>) => {
    const data = message.data;
    if (data?.kind === "events" && Array.isArray(data.events)) listeners.emitEvents(data.events);
    if (data?.kind === "audio" && data.chunk) listeners.emitAudio(data.chunk);
  };
  for (const samples of early.splice(0)) sendFrame(port, samples);
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
    const reply: unknown = await ipcRenderer.invoke(REQUEST_IPC_CHANNEL, { channel, args });
    return unwrapReply(reply, (code, message) => new BridgeError(code, message)) as RequestResult<C>;
  },
  sendAudio(samples: Float32Array) {
    if (!(samples instanceof Float32Array)) return;
    if (port) sendFrame(port, samples);
    else if (early.length < 100) early.push(samples);
  },
  onEvent: listeners.onEvent,
  onAudio: listeners.onAudio,
  // Only the path of a file the user dropped on the window; the page never reads files itself.
  pathForFile(file: File): string {
    try {
      return webUtils.getPathForFile(file);
    } catch {
      // Not a file the user dropped (anything else the page might pass): no path.
      return "";
    }
  },
};

contextBridge.exposeInMainWorld("duet", bridge);
