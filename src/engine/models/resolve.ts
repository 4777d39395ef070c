import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { ModelKind } from "../../shared/choices.js";
import type { ModelStatus } from "./manager.js";

/** Which file a model choice means, decided the same way for the app and every command. */
export type ModelResolution =
  | {
      status: "ok";
      path: string;
      name: string;
      /** The user chose it (settings or --model), rather than it being the newest installed one. */
      chosen: boolean;
    }
  /** The user chose a model whose file is not there: never replaced by another silently. */
  | { status: "missing"; choice: string; name: string; message: string }
  /**
   * Nothing chosen and nothing usable installed. `unusable`: why each model file of this kind that
   * is there cannot be used (damaged, truncated, not a model), for the message that says so.
   */
  | { status: "none"; message: string; unusable: string[] };

const KIND_WORDS: Record<ModelKind, string> = {
  llm: "reasoning model",
  stt: "speech-to-text model",
  tts: "voice",
  vad: "voice-activity model",
};

async function modifiedMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * The file for a model choice of one kind:
 * - a choice (a catalog id, or the path of an imported, found or given file) whose file is there
 *   (a damaged file the user chose is theirs to run: opening it says what is wrong with it);
 * - a choice whose file is gone: "missing", with what to do (download it again or pick another);
 * - no choice: the most recently added installed model of that kind, or "none".
 * `models` is what ModelManager.list() reports.
 */
export async function resolveModel(
  kind: ModelKind,
  choice: string | null,
  models: readonly ModelStatus[],
): Promise<ModelResolution> {
  const word = KIND_WORDS[kind];
  if (choice !== null) {
    const listed = models.find((m) => m.id === choice || m.path === choice);
    const usable = listed?.installed || (listed?.source !== "catalog" && listed?.problem !== undefined);
    if (listed && usable && (await modifiedMs(listed.path)) !== undefined)
      return { status: "ok", path: listed.path, name: listed.name, chosen: true };
    if (!listed && (await modifiedMs(choice)) !== undefined)
      return { status: "ok", path: choice, name: basename(choice), chosen: true };
    const name = listed?.name ?? basename(choice);
    const fix =
      listed?.source === "catalog"
        ? "download it again or pick another"
        : "put the file back, or pick another model";
    return {
      status: "missing",
      choice,
      name,
      message: `The chosen ${word} ${name} is missing (${listed?.path ?? choice}): ${fix}.`,
    };
  }
  const candidates = await Promise.all(
    models
      // Models found in other apps' folders are offered, never picked without the user choosing them.
      .filter((m) => m.kind === kind && m.installed && m.source !== "found")
      .map(async (m) => ({ model: m, modified: await modifiedMs(m.path) })),
  );
  const newest = candidates
    .filter((c): c is { model: ModelStatus; modified: number } => c.modified !== undefined)
    .sort((a, b) => b.modified - a.modified || a.model.path.localeCompare(b.model.path))[0];
  if (newest) return { status: "ok", path: newest.model.path, name: newest.model.name, chosen: false };
  const unusable = models
    .filter((m) => m.kind === kind && m.source !== "found" && m.source !== "catalog" && m.problem)
    .map((m) => m.problem!);
  return {
    status: "none",
    message:
      unusable.length > 0
        ? `No ${word} Duet can run is installed: ${unusable.join(" ")}`
        : `No ${word} is installed yet.`,
    unusable,
  };
}
