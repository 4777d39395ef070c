/**
 * Stable codes of the errors Duet raises on purpose; the window and the CLIs act on them. The
 * engine's DuetError carries one (src/engine/errors.ts).
 */
export const DUET_ERROR_CODES = [
  "model-not-found",
  "model-unreadable",
  "gguf-bad-magic",
  "gguf-unsupported-version",
  "gguf-truncated",
  "gguf-corrupt",
  "unsupported-architecture",
  "unsupported-rope",
  "unsupported-kv-cache",
  "unknown-prompt-family",
  "context-overflow",
  "invalid-argument",
  "engine-busy",
  "engine-disposed",
  "aborted",
  "adapter-incompatible",
  "native-build-missing",
  "unsupported-operation",
  "decode-failed",
  "download-failed",
] as const;
export type DuetErrorCode = (typeof DUET_ERROR_CODES)[number];
