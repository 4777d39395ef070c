import type { RequestChannel, RequestError } from "./contract.js";
import { REQUEST_CHANNELS } from "./channels.js";

/** The parts of Electron's ipcMain and its events the router uses (so it can be tested without Electron). */
export interface SenderEvent {
  sender: unknown;
  senderFrame?: { url: string } | null;
}
export interface IpcMainLike {
  handle(channel: string, handler: (event: SenderEvent, args: unknown) => Promise<unknown>): void;
}
export interface RequestHandler {
  request(channel: RequestChannel, args: unknown): Promise<unknown>;
}

export type Reply = { ok: true; result: unknown } | { ok: false; error: RequestError };

/** A thrown error as the window sees it: its code ("internal" when it has none) and its message. */
export function toRequestError(error: unknown): RequestError {
  const e = error as { code?: string; message?: string };
  return { code: e.code ?? "internal", message: e.message ?? String(error) };
}

/**
 * Registers every request channel: refuses senders other than the app's window, and turns
 * errors into replies the window can show (validation happens in the handler).
 */
export function registerRequests(
  ipc: IpcMainLike,
  handler: RequestHandler,
  isTrusted: (event: SenderEvent) => boolean,
  after?: (channel: RequestChannel) => void,
): void {
  for (const channel of REQUEST_CHANNELS) {
    ipc.handle(channel, async (event, args): Promise<Reply> => {
      if (!isTrusted(event))
        return {
          ok: false,
          error: { code: "forbidden", message: "Refused: the request did not come from Duet's window." },
        };
      try {
        const result = await handler.request(channel, args);
        after?.(channel);
        return { ok: true, result };
      } catch (error) {
        return { ok: false, error: toRequestError(error) };
      }
    });
  }
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
