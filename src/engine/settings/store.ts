import { join } from "node:path";
import { DuetError } from "../errors.js";
import {
  SETTINGS_VERSION,
  defaultSettings,
  settingsPatchSchema,
  settingsSchema,
  type Settings,
  type SettingsNotice,
  type SettingsPatch,
} from "../../shared/settings.js";
import { migrateSettings, settingsFormat } from "./migrations.js";
import { realFileSystem, writeFileAtomic, type SettingsFileSystem } from "./settingsFile.js";
import { errnoCode, explainFileError } from "../fileErrors.js";

export type { SettingsNotice, SettingsPatch };

export interface SettingsStoreOptions {
  /** Clock for the names of kept-aside files. Default: now. */
  now?: () => Date;
  /** File operations. Default: the real file system. */
  fs?: SettingsFileSystem;
}

/** Called after every change, with the settings now in effect. */
export type SettingsListener = (settings: Settings) => void;

type Json = Record<string, unknown>;

/** The fields a patch section names: a field set to undefined (TypeScript allows it) names nothing. */
const namedFields = (fields: object): Json =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/**
 * Applies a patch section by section: each named field replaces the old one (arrays are replaced
 * whole), other fields stay. Works for settings and for merging two patches. A validated patch
 * holds sections only; a section or field set to undefined changes nothing.
 *
 * The patch schema checks every field with the same rule as the stored settings, and no rule
 * spans fields, so merging valid settings with a valid patch always gives valid settings: the
 * result needs no second check. A rule across fields would have to be checked here.
 */
function mergeSections<T extends object>(base: T, patch: SettingsPatch): T {
  const out = structuredClone(base) as Json;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    out[key] = { ...(out[key] as object | undefined), ...namedFields(value) };
  }
  return out as T;
}

/** A readable name for a schema issue's place: "hardware.threads". */
const fieldName = (path: readonly PropertyKey[]): string => path.map(String).join(".") || "the file";

/**
 * Parses the settings of a current-format file, keeping every field that is valid: an invalid
 * field takes its default (a whole section when the section is not an object), and its name is
 * reported with the first reason.
 */
function parseKeepingValidFields(raw: Json): { settings: Settings; dropped: string[] } {
  const first = settingsSchema.safeParse(raw);
  if (first.success) return { settings: first.data, dropped: [] };
  const candidate = structuredClone(raw);
  const dropped = new Map<string, string>();
  // Zod reports every issue in one pass. An issue's path starts with a section and its field, or
  // with the section alone when it is not an object; never with the
  // version, which settingsFormat checked (or a migration wrote).
  for (const issue of first.error.issues) {
    const [section, field] = issue.path.map(String) as [string, string?];
    if (field === undefined) delete candidate[section];
    else delete (candidate[section] as Json)[field];
    const name = fieldName(issue.path.slice(0, 2));
    if (!dropped.has(name)) dropped.set(name, issue.message.replace("Invalid input: ", ""));
  }
  // Every part that failed is gone and takes its default, so this parse cannot fail.
  return {
    settings: settingsSchema.parse(candidate),
    dropped: [...dropped].map(([name, reason]) => `${name} (${reason})`),
  };
}

/**
 * The one owner of the user's settings: reads settings.json from the data folder, hands out the
 * settings in effect, applies validated changes, saves them atomically and tells listeners.
 * Nothing the user wrote is lost: a file Duet cannot use as it is (damaged, from a newer Duet, of
 * an unknown format) is kept aside byte for byte before anything is written, and a notice says
 * where. When the folder cannot be written, settings live in memory and the notice says how to fix
 * it. Overrides (environment variables, command-line flags) apply to this run and are never saved.
 */
export class SettingsStore {
  private overrides: SettingsPatch = {};
  private readonly listeners = new Set<SettingsListener>();

  private constructor(
    readonly path: string,
    private persisted: Settings,
    private noticeValue: SettingsNotice | undefined,
    /** False when saving would destroy a file Duet could not read. */
    private writableFile: boolean,
    private readonly fs: SettingsFileSystem,
  ) {}

  static async open(folder: string, options: SettingsStoreOptions = {}): Promise<SettingsStore> {
    const fs = options.fs ?? realFileSystem;
    const now = options.now ?? (() => new Date());
    const path = join(folder, "settings.json");
    const make = (settings: Settings, notice?: SettingsNotice, writable = true) =>
      new SettingsStore(path, settings, notice, writable, fs);

    let bytes: Buffer;
    try {
      bytes = await fs.readFile(path);
    } catch (error) {
      if (errnoCode(error) === "ENOENT") return make(defaultSettings());
      return make(
        defaultSettings(),
        {
          kind: "unreadable",
          message: `${explainFileError(error, path, "read")} Default settings are in use until then; nothing was changed on disk.`,
        },
        false,
      );
    }
    const stamp = now().toISOString().replace(/[:.]/g, "-");
    /**
     * Keeps the original aside, byte for byte, under a name that says why: renamed when Duet will
     * not use it, copied when a converted version replaces it. Undefined when the folder is not writable.
     */
    const keepAside = (label: string, keep: "rename" | "copyFile"): Promise<string | undefined> => {
      const preserved = join(folder, `settings.${label}-${stamp}.json`);
      return fs[keep](path, preserved).then(
        () => preserved,
        () => undefined,
      );
    };
    /** Defaults, with a notice, for a file Duet cannot use; the file itself is kept. */
    const setAside = async (kind: "corrupt" | "newer", label: string, reason: string) => {
      const preservedAs = await keepAside(label, "rename");
      if (!preservedAs) {
        return make(
          defaultSettings(),
          {
            kind,
            message: `${reason} Default settings are in use for now; your file was left untouched, and changes cannot be saved, because Duet cannot write next to it (${path}).`,
          },
          false,
        );
      }
      return make(defaultSettings(), {
        kind,
        message: `${reason} Default settings are in use; your file was kept as ${preservedAs}.`,
        preservedAs,
      });
    };

    // A byte-order mark (some Windows editors write one) is not part of the JSON.
    const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      return setAside(
        "corrupt",
        "corrupt",
        `Your settings file was damaged: it is not valid JSON (${(error as Error).message}).`,
      );
    }
    const format = settingsFormat(raw);
    if (format.kind === "newer") {
      return setAside(
        "newer",
        "from-newer-duet",
        `The settings file was written by a newer Duet (format ${format.version}; this version reads up to ${SETTINGS_VERSION}).`,
      );
    }
    if (format.kind === "unknown")
      return setAside("corrupt", "unknown-format", `Your settings file could not be used: ${format.reason}.`);

    const parsed = parseKeepingValidFields(migrateSettings(raw as Json, format.version));
    if (format.kind === "current" && parsed.dropped.length === 0) return make(parsed.settings);

    // The file must be rewritten (an old format, or invalid fields): keep the original first.
    const label = format.kind === "old" ? `format-${format.version}` : "corrupt";
    const preservedAs = await keepAside(label, "copyFile");
    const what =
      format.kind === "old"
        ? `Your settings were converted from an older Duet's format.`
        : `Some settings could not be used and are back to their defaults: ${parsed.dropped.join("; ")}.`;
    if (!preservedAs) {
      return make(
        parsed.settings,
        {
          kind: format.kind === "old" ? "migrated" : "corrupt",
          message: `${what} They are in use for now but cannot be saved: Duet cannot write next to ${path}.`,
        },
        false,
      );
    }
    const store = make(parsed.settings, {
      kind: format.kind === "old" ? "migrated" : "corrupt",
      message: `${what} The original file was kept as ${preservedAs}.`,
      preservedAs,
    });
    await store.save();
    return store;
  }

  /** The settings in effect: the saved ones with this run's overrides on top. */
  get(): Settings {
    return mergeSections(this.persisted, this.overrides);
  }

  /** Where the settings file is, and whether changes can be saved there. */
  get writable(): boolean {
    return this.writableFile;
  }

  /** Whether the last change reached the file (false: it lasts until this process ends). */
  get savesChanges(): boolean {
    return this.writableFile && this.noticeValue?.kind !== "unwritable";
  }

  /** Why the stored settings were not used as they were, or cannot be saved; undefined when all is well. */
  get notice(): SettingsNotice | undefined {
    return this.noticeValue;
  }

  /** Calls `listener` after every change; returns a function that stops it. */
  on(listener: SettingsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Settings for this run only (an environment variable, a command-line flag): validated like a
   * change, never saved.
   */
  override(patch: SettingsPatch): void {
    this.overrides = mergeSections(this.overrides, this.validate(patch));
    this.notify();
  }

  /**
   * Applies a change and saves it. Throws a readable DuetError and changes nothing when the change
   * is invalid. When the file cannot be written, the change holds for this run and the notice says
   * why and how to fix it.
   */
  async update(patch: SettingsPatch): Promise<Settings> {
    this.persisted = mergeSections(this.persisted, this.validate(patch));
    await this.save();
    this.notify();
    return this.get();
  }

  private validate(patch: unknown): SettingsPatch {
    const result = settingsPatchSchema.safeParse(patch);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new DuetError(
        "invalid-argument",
        `Invalid setting ${fieldName(issue?.path ?? [])}: ${issue?.message ?? "rejected"}.`,
      );
    }
    return result.data;
  }

  private notify(): void {
    const settings = this.get();
    for (const listener of this.listeners) listener(settings);
  }

  private async save(): Promise<void> {
    // Not writable only when opening said so, in the notice it set.
    if (!this.writableFile) return;
    try {
      await this.fs.mkdir(join(this.path, ".."), { recursive: true });
      await writeFileAtomic(this.path, `${JSON.stringify(this.persisted, null, 2)}\n`, this.fs);
      if (this.noticeValue?.kind === "unwritable") this.noticeValue = undefined;
    } catch (error) {
      this.noticeValue = {
        kind: "unwritable",
        message: `Your settings cannot be saved, so changes last until Duet closes. ${explainFileError(error, this.path, "save")}`,
      };
    }
  }
}
