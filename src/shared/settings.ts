import { z } from "zod";
import { GPU_CHOICES, LAYOUT_NAMES, MODEL_KINDS, REASONING_MODES, THOUGHT_SHARING } from "./choices.js";

/**
 * Everything a user can set: the one definition of each setting, its type and its default. The
 * settings store (src/engine/settings/store.ts) reads and writes the file; the assistant reads its
 * part through AssistantConfig (src/engine/session/config.ts). docs/architecture.md, "Adding a
 * setting", lists the steps.
 */

/** The settings file's format version. Bump it with a migration in src/engine/settings/migrations.ts. */
export const SETTINGS_VERSION = 1;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A section of the settings: its fields (declared once) and their defaults. A stored file may lack
 * fields (written by an older Duet): they take the default. A patch names only what changes.
 */
function section<Shape extends z.ZodRawShape>(fields: Shape, defaults: z.infer<z.ZodObject<Shape>>) {
  const object = z.object(fields);
  return {
    stored: z.preprocess((value) => {
      if (value === undefined) return defaults;
      return isRecord(value) ? { ...defaults, ...value } : value;
    }, object),
    patch: object.partial().strict(),
    defaults,
  };
}

const models = section(
  {
    /** The reasoning model: a catalog id or a file path. null: the newest installed one. */
    llm: z.string().min(1).nullable(),
    /** Speech-to-text model (catalog id or path). null: the newest installed one. */
    stt: z.string().min(1).nullable(),
    /** Voice for speech output (catalog id or path); null: the system voice. */
    voice: z.string().min(1).nullable(),
    /** Base URL that replaces https://huggingface.co for downloads (a mirror). */
    mirrorBaseUrl: z.string().url().nullable(),
    /** Models the user imported from elsewhere on disk (used where they are). */
    imported: z.array(z.object({ path: z.string().min(1), kind: z.enum(MODEL_KINDS), name: z.string() })),
  },
  { llm: null, stt: null, voice: null, mirrorBaseUrl: null, imported: [] },
);

const gpuLayers = z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0).max(1000)]);

const hardware = section(
  {
    gpu: z.enum(GPU_CHOICES),
    /** CPU threads; null: one per math core. */
    threads: z.number().int().min(1).max(256).nullable(),
    /** KV cells per stream; null: 4096, or less when the model's training context is shorter. */
    contextSize: z.number().int().min(512).max(262144).nullable(),
    /** Model layers on the GPU. */
    gpuLayers,
  },
  { gpu: "auto", threads: null, contextSize: null, gpuLayers: "auto" },
);

const reasoning = section(
  {
    layout: z.enum(LAYOUT_NAMES),
    mode: z.enum(REASONING_MODES),
    /** Ask the thinker whether the writer may go on every this many steps (and at paragraph ends). */
    probeInterval: z.number().int().min(1).max(500),
    /** The thinker checks that the request is safe before the writer may speak. */
    safety: z.boolean(),
    /** Step budget per turn. */
    maxSteps: z.number().int().min(16).max(65536),
    /** When the writer sees new thoughts: every step, in chunks, or auto (every step where it is cheap). */
    thoughtSharing: z.enum(THOUGHT_SHARING),
  },
  {
    layout: "paper",
    mode: "async",
    probeInterval: 20,
    safety: false,
    maxSteps: 1024,
    thoughtSharing: "auto",
  },
);

const speech = section(
  {
    /** Whisper language code, or "auto". */
    language: z.string().min(2).max(8),
    /** Words the recogniser should expect (names, jargon). */
    vocabularyPrompt: z.string().max(1000),
    /** Speaking rate multiplier for speech output. */
    rate: z.number().min(0.5).max(2),
    /**
     * Hands-free conversation: the microphone stays open, voice activity detection starts a turn
     * when the user speaks and ends it after a pause (instead of holding push-to-talk).
     */
    handsFree: z.boolean(),
    /** Hands-free: this much silence ends the user's turn, in milliseconds. */
    pauseMs: z.number().int().min(300).max(3000),
    /**
     * Hands-free: speaking over the answer interrupts it. Off for speakers that the echo
     * cancellation cannot keep out of the microphone (the answer would interrupt itself).
     */
    interruptBySpeaking: z.boolean(),
  },
  {
    language: "en",
    vocabularyPrompt: "",
    rate: 1,
    handsFree: false,
    pauseMs: 800,
    interruptBySpeaking: true,
  },
);

const hotkey = section(
  {
    /** Hold-to-talk key, in Electron accelerator syntax. */
    pushToTalk: z.string().min(1).max(64),
  },
  { pushToTalk: "Control+Alt+Space" },
);

export const settingsSchema = z.object({
  version: z.literal(SETTINGS_VERSION),
  models: models.stored,
  hardware: hardware.stored,
  reasoning: reasoning.stored,
  speech: speech.stored,
  hotkey: hotkey.stored,
});
export type Settings = z.infer<typeof settingsSchema>;

/** A change to the settings: any fields of any sections. Unknown names are refused. */
export const settingsPatchSchema = z
  .object({
    models: models.patch,
    hardware: hardware.patch,
    reasoning: reasoning.patch,
    speech: speech.patch,
    hotkey: hotkey.patch,
  })
  .partial()
  .strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export function defaultSettings(): Settings {
  return settingsSchema.parse({ version: SETTINGS_VERSION });
}

/** Why the stored settings were not used as they were, or cannot be saved; the window shows it. */
export interface SettingsNotice {
  kind: "corrupt" | "newer" | "unreadable" | "unwritable" | "migrated";
  message: string;
  /** Where the original file was kept. */
  preservedAs?: string;
}
