import { REQUEST_IPC_CHANNEL, type WireReply } from "../../shared/ipc/wire.js";
import { replyTo, type RequestHandlers } from "./requests.js";

/** The parts of Electron's ipcMain and its events the router uses (so it can be tested without Electron). */
export interface SenderEvent {
  sender: unknown;
  senderFrame?: { url: string } | null;
}
export interface IpcMainLike {
  handle(channel: string, handler: (event: SenderEvent, payload: unknown) => Promise<unknown>): void;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Registers the window's one request channel: refuses senders other than the app's window,
 * validates the request, and turns every outcome into a reply the window can show.
 */
export function registerRequests(
  ipc: IpcMainLike,
  handlers: RequestHandlers,
  isTrusted: (event: SenderEvent) => boolean,
): void {
  ipc.handle(REQUEST_IPC_CHANNEL, async (event, payload): Promise<WireReply> => {
    if (!isTrusted(event))
      return {
        ok: false,
        error: { code: "forbidden", message: "Refused: the request did not come from Duet's window." },
      };
    if (!isRecord(payload))
      return { ok: false, error: { code: "invalid-argument", message: "A request must be an object." } };
    return replyTo(handlers, payload.channel, payload.args);
  });
}

/** Only the given window's web contents, showing exactly the app's own page, is trusted. */
export function senderCheck(
  getContents: () => unknown,
  origin: () => string | undefined,
): (event: SenderEvent) => boolean {
  return (event) => {
    const contents = getContents();
    return (
      contents !== undefined &&
      event.sender === contents &&
      !!event.senderFrame &&
      event.senderFrame.url === origin()
    );
  };
}
