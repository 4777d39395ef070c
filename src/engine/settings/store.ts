import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { DuetError } from "../errors.js";
import { NewerSettingsError, migrateSettings } from "./migrations.js";
import { SETTINGS_VERSION, defaultSettings, settingsSchema, type Settings } from "./schema.js";

/** Why the stored settings were not used as they were; the UI shows it once. */
export interface SettingsNotice {
  kind: "corrupt" | "newer" | "unreadable";
  message: string;
  /** Where the original file was kept. */
  preservedAs?: string;
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

/** Writes a file so that a crash leaves either the old or the new content, never half of it. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(data, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

function merge<T>(base: T, patch: DeepPartial<T> | undefined): T {
  if (patch === undefined) return base;
  if (typeof base !== "object" || base === null || Array.isArray(base)) return patch as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      typeof current === "object" &&
      current !== null
        ? merge(current, value as DeepPartial<typeof current>)
        : value;
  }
  return out as T;
}

/**
 * Settings stored as JSON in the data folder. A corrupt file or one from a newer Duet is kept
 * aside under another name, defaults are used, and a notice says so; nothing is lost.
 */
export class SettingsStore {
  private constructor(
    readonly path: string,
    private current: Settings,
    readonly notice: SettingsNotice | undefined,
  ) {}

  static async open(folder: string, now: () => Date = () => new Date()): Promise<SettingsStore> {
    await mkdir(folder, { recursive: true });
    const path = join(folder, "settings.json");
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT")
        return new SettingsStore(path, defaultSettings(), undefined);
      return new SettingsStore(path, defaultSettings(), {
        kind: "unreadable",
        message: `Could not read ${path} (${(error as Error).message}); using default settings for now.`,
      });
    }
    const stamp = now().toISOString().replace(/[:.]/g, "-");
    try {
      const raw: unknown = JSON.parse(text);
      const parsed = settingsSchema.parse(migrateSettings(raw));
      const store = new SettingsStore(path, parsed, undefined);
      // Write a migrated file back in the current format.
      if ((raw as { version?: unknown }).version !== SETTINGS_VERSION) await store.save();
      return store;
    } catch (error) {
      const newer = error instanceof NewerSettingsError;
      const preservedAs = join(
        folder,
        newer ? `settings.from-newer-duet-${stamp}.json` : `settings.corrupt-${stamp}.json`,
      );
      await rename(path, preservedAs);
      const reason = newer
        ? error.message
        : `it could not be read (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`;
      return new SettingsStore(path, defaultSettings(), {
        kind: newer ? "newer" : "corrupt",
        message: newer
          ? `${reason} Default settings are in use; your file was kept as ${preservedAs}.`
          : `Your settings file was damaged: ${reason}. Default settings are in use; the old file was kept as ${preservedAs}.`,
        preservedAs,
      });
    }
  }

  get(): Settings {
    return structuredClone(this.current);
  }

  /** Applies a partial change; throws a readable DuetError and changes nothing if it is invalid. */
  async update(patch: DeepPartial<Settings>): Promise<Settings> {
    const candidate = merge(this.current, patch);
    const result = settingsSchema.safeParse(candidate);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new DuetError(
        "invalid-argument",
        `Invalid setting ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "rejected"}.`,
      );
    }
    this.current = result.data;
    await this.save();
    return this.get();
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(this.current, null, 2)}\n`);
  }
}
