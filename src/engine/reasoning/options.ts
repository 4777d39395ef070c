import { DuetError } from "../errors.js";
import type { SamplerConfig } from "../llama/types.js";
import { LAYOUT_NAMES, type LayoutName } from "./layout.js";
import { REASONING_MODES, type ReasoningMode } from "./events.js";
import { THOUGHT_SHARING, type ThoughtSharing } from "../../shared/choices.js";

/**
 * When tokens of one view's block are decoded into another view that shows it. Every mirror
 * into the middle of a view costs one K-shift pass over the whole cache at the next decode, so
 * mirroring waits for a chunk, and waits entirely while the reading stream is paused.
 */
export interface MirrorPolicy {
  /**
   * Mirror once this many tokens wait. Default 32. Every probe (every 20 steps, and at thinker
   * paragraph ends) is also a sync point for all views, so in practice the cap only matters when
   * probes are rare; `npm run bench:engine` compares policies.
   */
  chunkTokens: number;
  /** Also mirror at a phrase end (. ! ? ; : , or newline) once this many wait; 0 (default) disables. */
  phraseMinTokens: number;
  /** Mirror into a view only when the stream reading it decodes (the writer reads nothing while paused). Default true. */
  lazy: boolean;
}

export const DEFAULT_MIRROR_POLICY: Readonly<MirrorPolicy> = {
  chunkTokens: 32,
  phraseMinTokens: 0,
  lazy: true,
};

/** Every view gets every new token in the same step, as in the paper: thought lag 0. */
export const EVERY_STEP_POLICY: Readonly<MirrorPolicy> = { chunkTokens: 1, phraseMinTokens: 0, lazy: false };

export { THOUGHT_SHARING, type ThoughtSharing } from "../../shared/choices.js";

/** The policy a thought-sharing choice means on this backend ("auto": every step on a GPU, chunks on the CPU). */
export function mirrorPolicyFor(sharing: ThoughtSharing, onGpu: boolean): MirrorPolicy {
  const everyStep = sharing === "every-step" || (sharing === "auto" && onGpu);
  return { ...(everyStep ? EVERY_STEP_POLICY : DEFAULT_MIRROR_POLICY) };
}

/** A policy in words, for events and reports. */
export function describeMirrorPolicy(policy: MirrorPolicy): string {
  if (!policy.lazy && policy.chunkTokens <= 1) return "every step";
  const phrase = policy.phraseMinTokens > 0 ? ` or at a phrase end after ${policy.phraseMinTokens}` : "";
  return `in chunks of ${policy.chunkTokens} tokens${phrase}${policy.lazy ? ", while the reader decodes" : ""}`;
}

export interface ReasonerOptions {
  /** Block layout. Default "paper". */
  layout?: LayoutName;
  /** Probe every this many steps, and whenever the thinker ends a paragraph. Default 20. */
  probeInterval?: number;
  /** Candidates read for the probe's yes/no comparison. Default 40. */
  probeTopK?: number;
  /** "model" asks the model; "yes" or "no" force the answer (ablations, tests). Default "model". */
  probe?: "model" | "yes" | "no";
  /** Mirror the newest answer tokens into the probe's view before asking. Default true. */
  probeSeesLatestAnswer?: boolean;
  /** Safety mode: the thinker checks the request first; "yes" means the check is done. Default false. */
  safety?: boolean;
  /**
   * When thoughts reach the writer's view. Default "auto": every step on a GPU (where it is
   * cheap), in chunks on the CPU. `mirror`, when given, fine-tunes the chosen policy.
   */
  thoughtSharing?: ThoughtSharing;
  /** Mirroring schedule overrides (benchmarks, experiments). Default: from `thoughtSharing`. */
  mirror?: Partial<MirrorPolicy>;
  /** Sampling per stream. Default greedy for both. */
  sampling?: { thinker?: SamplerConfig; writer?: SamplerConfig };
  /** Step budget per turn. Default 1024. */
  maxSteps?: number;
  /** Start thinking on the user's partial words while they still speak. Default true. */
  thinkWhileListening?: boolean;
  /** Extra instructions appended to every system prompt. Default none. */
  extraInstructions?: string;
  /** Default mode of a turn. Default "async". */
  mode?: ReasoningMode;
}

export interface ResolvedReasonerOptions {
  layout: LayoutName;
  probeInterval: number;
  probeTopK: number;
  probe: "model" | "yes" | "no";
  probeSeesLatestAnswer: boolean;
  safety: boolean;
  mirror: MirrorPolicy;
  /** The mirror policy in words ("every step", "in chunks of 32 tokens..."). */
  thoughtSharing: string;
  sampling: { thinker: SamplerConfig; writer: SamplerConfig };
  maxSteps: number;
  thinkWhileListening: boolean;
  extraInstructions: string;
  mode: ReasoningMode;
}

const positiveInteger = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1)
    throw new DuetError("invalid-argument", `${name} must be a positive integer, got ${value}.`);
  return value;
};

/** Throws unless `mode` is one of REASONING_MODES (callers may pass anything at run time). */
export function assertReasoningMode(mode: ReasoningMode): void {
  if (!(REASONING_MODES as readonly string[]).includes(mode)) {
    throw new DuetError(
      "invalid-argument",
      `Unknown mode "${String(mode)}": use async, thinking or nothinking.`,
    );
  }
}

/**
 * Fills in every default and checks every value. `onGpu` says where the model runs, for the
 * "auto" thought-sharing policy.
 */
export function resolveReasonerOptions(
  options: ReasonerOptions = {},
  onGpu = false,
): ResolvedReasonerOptions {
  const layout = options.layout ?? "paper";
  if (!(LAYOUT_NAMES as readonly string[]).includes(layout)) {
    throw new DuetError("invalid-argument", `Unknown layout "${String(layout)}": use "paper" or "compact".`);
  }
  const mode = options.mode ?? "async";
  assertReasoningMode(mode);
  const sharing = options.thoughtSharing ?? "auto";
  if (!(THOUGHT_SHARING as readonly string[]).includes(sharing))
    throw new DuetError(
      "invalid-argument",
      `Unknown thought sharing "${String(sharing)}": use auto, every-step or chunks.`,
    );
  const mirror = { ...mirrorPolicyFor(sharing, onGpu), ...options.mirror };
  positiveInteger("mirror.chunkTokens", mirror.chunkTokens);
  if (!Number.isInteger(mirror.phraseMinTokens) || mirror.phraseMinTokens < 0) {
    throw new DuetError("invalid-argument", "mirror.phraseMinTokens must be 0 or a positive integer.");
  }
  return {
    layout,
    probeInterval: positiveInteger("probeInterval", options.probeInterval ?? 20),
    probeTopK: positiveInteger("probeTopK", options.probeTopK ?? 40),
    probe: options.probe ?? "model",
    probeSeesLatestAnswer: options.probeSeesLatestAnswer ?? true,
    safety: options.safety ?? false,
    mirror,
    thoughtSharing: describeMirrorPolicy(mirror),
    sampling: { thinker: options.sampling?.thinker ?? {}, writer: options.sampling?.writer ?? {} },
    maxSteps: positiveInteger("maxSteps", options.maxSteps ?? 1024),
    thinkWhileListening: options.thinkWhileListening ?? true,
    extraInstructions: options.extraInstructions ?? "",
    mode,
  };
}
