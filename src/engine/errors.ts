/**
 * Every error the engine raises on purpose carries a stable `code` the UI and CLIs can act on,
 * and a message written for the person who will read it.
 */
export type DuetErrorCode =
  | "model-not-found"
  | "model-unreadable"
  | "gguf-bad-magic"
  | "gguf-unsupported-version"
  | "gguf-truncated"
  | "gguf-corrupt"
  | "unsupported-architecture"
  | "unsupported-rope"
  | "unsupported-kv-cache"
  | "unknown-prompt-family"
  | "context-overflow"
  | "invalid-argument"
  | "engine-busy"
  | "engine-disposed"
  | "aborted"
  | "adapter-incompatible"
  | "native-build-missing"
  | "unsupported-operation"
  | "decode-failed";

export class DuetError extends Error {
  readonly code: DuetErrorCode;

  constructor(code: DuetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DuetError";
    this.code = code;
  }
}

export function isDuetError(error: unknown, code?: DuetErrorCode): error is DuetError {
  return error instanceof DuetError && (code === undefined || error.code === code);
}

/** The error to throw when an AbortSignal fires; keeps the signal's reason as the cause. */
export function abortError(signal: AbortSignal): DuetError {
  return new DuetError("aborted", "The operation was cancelled.", { cause: signal.reason });
}
