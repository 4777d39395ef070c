import { SETTINGS_VERSION } from "./schema.js";

type Json = Record<string, unknown>;

/**
 * Migrations from each old version to the next. Version 0 is the flat file Duet's first
 * command-line builds wrote: `{ model, gpu, threads, layout }` with no version field.
 */
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

export class NewerSettingsError extends Error {
  constructor(readonly version: number) {
    super(
      `The settings file was written by a newer Duet (format ${version}; this version reads up to ${SETTINGS_VERSION}).`,
    );
  }
}

/** Brings a parsed settings object to the current version (validation happens after). */
export function migrateSettings(raw: unknown): Json {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error("The settings file does not hold an object.");
  let current = raw as Json;
  let version = typeof current.version === "number" ? current.version : 0;
  if (!Number.isInteger(version) || version < 0)
    throw new Error(`The settings file has an invalid version (${String(current.version)}).`);
  if (version > SETTINGS_VERSION) throw new NewerSettingsError(version);
  while (version < SETTINGS_VERSION) {
    const step = migrations[version];
    if (!step) throw new Error(`No migration from settings format ${version}.`);
    current = step(current);
    version = current.version as number;
  }
  return current;
}
