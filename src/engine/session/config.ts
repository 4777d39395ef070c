import { z } from "zod";
import { settingsSchema, type Settings } from "../../shared/settings.js";
import type { ModelManager } from "../models/manager.js";
import { resolveModel, type ModelResolution } from "../models/resolve.js";

/**
 * Everything the assistant needs to open: the settings it reads (derived from the settings
 * schema, not retyped), the model files they resolve to, and experiment-only tuning the settings
 * do not offer. The app's engine process and every command open the assistant from one of these
 * (openAssistant in assistant.ts); it is also the engine process's start message, validated there.
 */
export const assistantConfigSchema = settingsSchema
  .pick({ hardware: true, reasoning: true, speech: true })
  .extend({
    files: z.object({
      /** The reasoning model (GGUF). */
      llm: z.string().min(1),
      /** whisper.cpp model; null: no speech-to-text (typing still works). */
      stt: z.string().min(1).nullable(),
      /** Piper or Kokoro voice folder; null: the system voice. */
      voice: z.string().min(1).nullable(),
      /** Silero VAD model; null or missing file: loudness-based detection. */
      vad: z.string().min(1).nullable(),
    }),
    /** For experiments and benchmarks only (command-line flags); the app never sets them. */
    tuning: z
      .object({
        /** Force the probe's answer ("model" asks the model). */
        probe: z.enum(["model", "yes", "no"]).optional(),
        /** Sampling temperature for both streams; 0 or absent: greedy. */
        temperature: z.number().min(0).max(5).optional(),
      })
      .strict()
      .default({}),
  });
export type AssistantConfig = z.infer<typeof assistantConfigSchema>;

/** The models an assistant configuration resolved to, or why it cannot start. */
export type ResolvedAssistantConfig =
  | {
      ok: true;
      config: AssistantConfig;
      llm: Extract<ModelResolution, { status: "ok" }>;
      /** Chosen models that are missing (the assistant runs without them). */
      notices: string[];
    }
  | { ok: false; llm: Exclude<ModelResolution, { status: "ok" }> };

/**
 * Resolves the settings' model choices to files (one rule for the app and the commands: see
 * resolveModel) and builds the assistant's configuration. The reasoning model must resolve; the
 * others fall back (no speech-to-text, the system voice, loudness-based detection).
 */
export async function resolveAssistantConfig(
  settings: Settings,
  models: Pick<ModelManager, "list">,
  tuning: AssistantConfig["tuning"] = {},
): Promise<ResolvedAssistantConfig> {
  const list = await models.list();
  const llm = await resolveModel("llm", settings.models.llm, list);
  if (llm.status !== "ok") return { ok: false, llm };
  const stt = await resolveModel("stt", settings.models.stt, list);
  // No voice chosen means the system voice, not the newest downloaded one.
  const voice = settings.models.voice ? await resolveModel("tts", settings.models.voice, list) : undefined;
  const vad = await resolveModel("vad", null, list);
  const config = assistantConfigSchema.parse({
    hardware: settings.hardware,
    reasoning: settings.reasoning,
    speech: settings.speech,
    files: {
      llm: llm.path,
      stt: stt.status === "ok" ? stt.path : null,
      voice: voice?.status === "ok" ? voice.path : null,
      vad: vad.status === "ok" ? vad.path : null,
    },
    tuning,
  });
  const notices = [stt, voice]
    .filter((r): r is Extract<ModelResolution, { status: "missing" }> => r?.status === "missing")
    .map((r) => r.message);
  return { ok: true, config, llm, notices };
}
