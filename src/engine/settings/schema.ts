import { z } from "zod";
import { GPU_CHOICES } from "../llama/types.js";
import { MODEL_KINDS } from "../models/catalog.js";
import { REASONING_MODES } from "../reasoning/events.js";
import { LAYOUT_NAMES } from "../reasoning/layout.js";

/** The settings file's format version. Bump it with a migration in migrations.ts. */
export const SETTINGS_VERSION = 1;

const gpuLayers = z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0).max(1000)]);

/**
 * Everything a user can set, with defaults. Each field documents its default through `.default`;
 * an older or partial file is filled in field by field.
 */
export const settingsSchema = z.object({
  version: z.literal(SETTINGS_VERSION),
  models: z
    .object({
      /** The reasoning model: a catalog id or the path of an imported GGUF. null = the recommended one. */
      llm: z.string().min(1).nullable().default(null),
      /** Speech-to-text model (catalog id or path). */
      stt: z.string().min(1).nullable().default(null),
      /** Voice for speech output (catalog id or path); null = the system voice. */
      voice: z.string().min(1).nullable().default(null),
      /** Base URL that replaces https://huggingface.co for downloads (a mirror). */
      mirrorBaseUrl: z.string().url().nullable().default(null),
      /** Models the user imported from elsewhere on disk. */
      imported: z
        .array(z.object({ path: z.string().min(1), kind: z.enum(MODEL_KINDS), name: z.string() }))
        .default([]),
    })
    .default({ llm: null, stt: null, voice: null, mirrorBaseUrl: null, imported: [] }),
  hardware: z
    .object({
      gpu: z.enum(GPU_CHOICES as [string, ...string[]]).default("auto"),
      /** null = one thread per math core. */
      threads: z.number().int().min(1).max(256).nullable().default(null),
      /** KV cells per stream; null = recommended for the model and memory. */
      contextSize: z.number().int().min(512).max(262144).nullable().default(null),
      gpuLayers: gpuLayers.default("auto"),
    })
    .default({ gpu: "auto", threads: null, contextSize: null, gpuLayers: "auto" }),
  reasoning: z
    .object({
      layout: z.enum(LAYOUT_NAMES).default("paper"),
      mode: z.enum(REASONING_MODES).default("async"),
      probeInterval: z.number().int().min(1).max(500).default(20),
      safety: z.boolean().default(false),
      maxSteps: z.number().int().min(16).max(65536).default(1024),
    })
    .default({ layout: "paper", mode: "async", probeInterval: 20, safety: false, maxSteps: 1024 }),
  speech: z
    .object({
      /** Whisper language code, or "auto". */
      language: z.string().min(2).max(8).default("en"),
      /** Words the recogniser should expect (names, jargon). */
      vocabularyPrompt: z.string().max(1000).default(""),
      /** Speaking rate multiplier for speech output. */
      rate: z.number().min(0.5).max(2).default(1),
      handsFree: z.boolean().default(false),
    })
    .default({ language: "en", vocabularyPrompt: "", rate: 1, handsFree: false }),
  hotkey: z
    .object({
      /** Hold-to-talk key, in Electron accelerator syntax. */
      pushToTalk: z.string().min(1).max(64).default("Control+Alt+Space"),
    })
    .default({ pushToTalk: "Control+Alt+Space" }),
  firstRunDone: z.boolean().default(false),
});

export type Settings = z.infer<typeof settingsSchema>;

export function defaultSettings(): Settings {
  return settingsSchema.parse({ version: SETTINGS_VERSION });
}
