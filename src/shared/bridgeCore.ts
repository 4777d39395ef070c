/**
 * The transport-free half of the window's bridge (`window.duet`), shared by the Electron preload
 * and the WebSocket bridge to the dev harness: the event and audio listeners, and turning a reply
 * into its result or a thrown error. Generic over the payloads, so it imports nothing.
 */

export interface BridgeListeners<Event, Audio> {
  /** Adds a listener; the returned function removes it. */
  onEvent(listener: (event: Event) => void): () => void;
  onAudio(listener: (chunk: Audio) => void): () => void;
  /** Hands each event, in order, to every event listener. */
  emitEvents(events: readonly Event[]): void;
  emitAudio(chunk: Audio): void;
}

export function createListeners<Event, Audio>(): BridgeListeners<Event, Audio> {
  const eventListeners = new Set<(event: Event) => void>();
  const audioListeners = new Set<(chunk: Audio) => void>();
  return {
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onAudio(listener) {
      audioListeners.add(listener);
      return () => audioListeners.delete(listener);
    },
    emitEvents(events) {
      for (const e of events) for (const l of eventListeners) l(e);
    },
    emitAudio(chunk) {
      for (const l of audioListeners) l(chunk);
    },
  };
}

/** A request's reply as it crosses the process boundary. */
export interface WireReply<Result> {
  ok: boolean;
  result?: Result;
  error?: { code?: string; message?: string };
}

/**
 * The reply's result, or the error `toError` makes of a failed reply (its code as sent, possibly
 * missing, and its message, "The request failed." when none was sent).
 */
export function unwrapReply<Result>(
  reply: WireReply<Result>,
  toError: (code: string | undefined, message: string) => Error,
): Result {
  if (!reply.ok) throw toError(reply.error?.code, reply.error?.message ?? "The request failed.");
  return reply.result as Result;
}
