/**
 * How the contract travels: the Electron channel names and the messages on the window's
 * MessagePort (or the harness's WebSocket). Import-free, so the sandboxed preload can use it.
 */
import type { AppEvent, AudioChunk, RequestError } from "./contract.js";

/** ipcRenderer.invoke channel for every request: `{ channel, args }` in, a WireReply out. */
export const REQUEST_IPC_CHANNEL = "duet:request";
/** The main process hands the window its MessagePort on this channel. */
export const PORT_IPC_CHANNEL = "duet:port";

/** Main -> window on the port. */
export type PortMessageToWindow =
  { kind: "events"; events: AppEvent[] } | { kind: "audio"; chunk: AudioChunk };
/** Window -> main on the port: microphone frames. */
export type PortMessageFromWindow = { kind: "audio"; samples: Float32Array };

/** A request's reply as it crosses the process boundary. */
export type WireReply = { ok: true; result: unknown } | { ok: false; error: RequestError };

/** Harness socket frames (JSON text; audio goes as binary frames). */
export type SocketToHarness = { kind: "request"; id: number; channel: string; args: unknown };
export type SocketFromHarness =
  ({ kind: "reply"; id: number | null } & WireReply) | { kind: "events"; events: AppEvent[] };
