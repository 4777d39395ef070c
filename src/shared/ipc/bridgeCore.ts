import type { WireReply } from "./wire.js";

/**
 * The transport-free half of the window's bridge (`window.duet`), shared by the Electron preload
 * and the WebSocket bridge to the dev harness: the event and audio listeners, and turning a reply
 * into its result or a thrown error. Generic over the payloads.
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

/**
 * The reply's result, or the error `toError` makes of a failed reply (its code and message as
 * sent). A reply that is not one of ours (a broken transport) becomes an error too.
 */
export function unwrapReply(reply: unknown, toError: (code: string, message: string) => Error): unknown {
  const wire = reply as Partial<WireReply> | null | undefined;
  if (wire?.ok === true) return wire.result;
  const error = wire?.ok === false ? wire.error : undefined;
  throw toError(error?.code ?? "internal", error?.message ?? "The request failed.");
}
