import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DuetError } from "../errors.js";
import { ModelManager } from "../models/manager.js";
import { duetDataDir, modelsDir } from "../paths.js";
import { LAYOUT_NAMES } from "../reasoning/layout.js";
import { REASONING_MODES } from "../reasoning/events.js";
import { resolveAssistantConfig, type AssistantConfig } from "../session/config.js";
import { environmentOverrides } from "../settings/overrides.js";
import { SettingsStore } from "../settings/store.js";
import type { SettingsPatch } from "../../shared/settings.js";
import { GPU_CHOICES } from "../../shared/choices.js";
import { parseChoice, parseIntegerOption, parseNumberOption } from "./common.js";

/**
 * Options of every command that runs the assistant (ask, talk, demo, bench). Each one overrides a
 * setting for this run only (never saved), so a command behaves like the app with the same settings.
 */
export const ASSISTANT_OPTIONS = {
  model: { type: "string" },
  mode: { type: "string" },
  layout: { type: "string" },
  "max-steps": { type: "string" },
  gpu: { type: "string" },
  threads: { type: "string" },
  context: { type: "string" },
  safety: { type: "boolean" },
  probe: { type: "string" },
  temperature: { type: "string" },
  verbose: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The usage lines of ASSISTANT_OPTIONS, for each command's help. */
export const ASSISTANT_OPTIONS_USAGE = `  --model PATH        GGUF model (default: the one chosen in Settings, else the newest in Duet's model folder)
  --mode MODE         async (default), thinking (think fully, then answer) or nothinking
  --layout LAYOUT     paper (default) or compact
  --max-steps N       step budget (default 1024)
  --context N         KV cells per view (default 4096)
  --gpu BACKEND       auto (default), cuda, vulkan, metal or cpu
  --threads N         CPU threads (default: one per core)
  --safety            the thinker checks the request is safe before the writer may speak
  --probe MODE        model (default), yes or no (force the probe's answer; for experiments)
  --temperature T     sampling temperature for both streams (default 0: greedy; for experiments)
  --verbose           show llama.cpp's and whisper.cpp's own log lines
  --json              one JSON event per line; the last line is a summary object`;

export interface AssistantFlags {
  model?: string;
  mode?: string;
  layout?: string;
  "max-steps"?: string;
  gpu?: string;
  threads?: string;
  context?: string;
  safety?: boolean;
  probe?: string;
  temperature?: string;
}

/** The settings the flags change, checked with messages that name the flag. */
export function settingsFromFlags(flags: AssistantFlags): SettingsPatch {
  const mode = parseChoice("mode", flags.mode, REASONING_MODES);
  const layout = parseChoice("layout", flags.layout, LAYOUT_NAMES);
  const maxSteps = parseIntegerOption("max-steps", flags["max-steps"], 16, 65536);
  const gpu = parseChoice("gpu", flags.gpu, GPU_CHOICES);
  const threads = parseIntegerOption("threads", flags.threads, 1, 256);
  const contextSize = parseIntegerOption("context", flags.context, 512, 262144);
  const reasoning = {
    ...(mode ? { mode } : {}),
    ...(layout ? { layout } : {}),
    ...(maxSteps ? { maxSteps } : {}),
    ...(flags.safety ? { safety: true } : {}),
  };
  const hardware = {
    ...(gpu ? { gpu } : {}),
    ...(threads ? { threads } : {}),
    ...(contextSize ? { contextSize } : {}),
  };
  return {
    ...(Object.keys(reasoning).length > 0 ? { reasoning } : {}),
    ...(Object.keys(hardware).length > 0 ? { hardware } : {}),
    ...(flags.model ? { models: { llm: resolve(flags.model) } } : {}),
  };
}

export interface CommandAssistant {
  config: AssistantConfig;
  /** Notices for the user: settings problems, chosen models that are missing. */
  notices: string[];
}

/**
 * The assistant's configuration for a command: the user's settings (the same file the app uses),
 * the environment's and the flags' overrides for this run, and the one model resolution. Throws a
 * readable error when there is no reasoning model to run.
 */
export async function configForCommand(flags: AssistantFlags): Promise<CommandAssistant> {
  const store = await SettingsStore.open(duetDataDir());
  const notices = store.notice ? [store.notice.message] : [];
  store.override(environmentOverrides());
  const patch = settingsFromFlags(flags);
  store.override(patch);
  if (flags.model && !existsSync(resolve(flags.model)))
    throw new DuetError("model-not-found", `Model file not found: ${resolve(flags.model)}`);
  const folder = modelsDir();
  const manager = new ModelManager({ folder, settings: store });
  const probe = parseChoice("probe", flags.probe, ["model", "yes", "no"] as const);
  const temperature = parseNumberOption("temperature", flags.temperature, 0, 5);
  const resolved = await resolveAssistantConfig(store.get(), manager, {
    ...(probe ? { probe } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  });
  if (!resolved.ok) {
    const howToGet =
      `Download one with "npm run models -- download qwen3-1.7b", put a Qwen3 GGUF file in ${folder}, ` +
      `pass --model PATH, or try "npm run demo" (no download).`;
    const { llm } = resolved;
    throw new DuetError(
      "model-not-found",
      llm.status === "missing"
        ? `${llm.message} Or pass --model PATH.`
        : llm.unusable.length > 0
          ? `No reasoning model Duet can run in ${folder}: ${llm.unusable.join(" ")} ${howToGet}`
          : `No reasoning model in ${folder}. ${howToGet}`,
    );
  }
  return { config: resolved.config, notices: [...notices, ...resolved.notices] };
}
