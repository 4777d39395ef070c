/**
 * The fixed lists every process agrees on (engine, main, window, CLIs). Each list is the one
 * definition of its type.
 */

/** GPU backends a user can pick; "auto" lets the engine choose. */
export const GPU_CHOICES = ["auto", "cuda", "vulkan", "metal", "cpu"] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];

export const MODEL_KINDS = ["llm", "stt", "tts", "vad"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** async: think while talking; thinking: think fully, then answer; nothinking: answer at once. */
export const REASONING_MODES = ["async", "thinking", "nothinking"] as const;
export type ReasoningMode = (typeof REASONING_MODES)[number];

/** Block layouts of the async mode (docs/method.md, "Blocks and views"). */
export const LAYOUT_NAMES = ["paper", "compact"] as const;
export type LayoutName = (typeof LAYOUT_NAMES)[number];
