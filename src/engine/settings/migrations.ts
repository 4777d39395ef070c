import { SETTINGS_VERSION } from "../../shared/settings.js";

type Json = Record<string, unknown>;

/**
 * Settings formats Duet has written, and how each becomes the next. Format 0 is the flat file of
 * the first command-line builds: `{ model, gpu, threads, layout }`, with no version field.
 */
const V0_KEYS = new Set(["model", "gpu", "threads", "layout"]);

const migrations: Record<number, (old: Json) => Json> = {
  0: (old) => ({
    version: 1,
    models: { llm: typeof old.model === "string" ? old.model : null },
    hardware: {
      ...(typeof old.gpu === "string" ? { gpu: old.gpu } : {}),
      ...(typeof old.threads === "number" ? { threads: old.threads } : {}),
    },
    reasoning: typeof old.layout === "string" ? { layout: old.layout } : {},
  }),
};

/** What a parsed settings file is, judged by its version field alone. */
export type SettingsFormat =
  | { kind: "current"; version: number }
  | { kind: "old"; version: number }
  | { kind: "newer"; version: number }
  | { kind: "unknown"; reason: string };

const describe = (value: unknown): string => (typeof value === "string" ? `"${value}"` : String(value));

/**
 * Recognises a file's format. Only exact versions count: a version written as a string, a
 * fraction, or missing from a file that is not the flat format 0 is "unknown", and the file is
 * kept aside rather than guessed at.
 */
export function settingsFormat(raw: unknown): SettingsFormat {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { kind: "unknown", reason: "it does not hold a settings object" };
  const object = raw as Json;
  if (!("version" in object)) {
    const keys = Object.keys(object);
    return keys.length > 0 && keys.every((key) => V0_KEYS.has(key))
      ? { kind: "old", version: 0 }
      : { kind: "unknown", reason: "it has no format version" };
  }
  const version = object.version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0)
    return { kind: "unknown", reason: `its format version ${describe(version)} is not one Duet wrote` };
  if (version === SETTINGS_VERSION) return { kind: "current", version };
  if (version > SETTINGS_VERSION) return { kind: "newer", version };
  if (!(version in migrations))
    return { kind: "unknown", reason: `its format version ${version} is not one Duet wrote` };
  return { kind: "old", version };
}

/** Brings a file of an old format to the current one, and leaves a current one as it is (validation happens after). */
export function migrateSettings(raw: Json, from: number): Json {
  let current = raw;
  let version = from;
  while (version < SETTINGS_VERSION) {
    const step = migrations[version];
    if (!step) throw new Error(`No migration from settings format ${version}.`);
    current = step(current);
    version = current.version as number;
  }
  return current;
}
