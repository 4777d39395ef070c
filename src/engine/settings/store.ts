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
import {
  errnoCode,
  explainFileError,
  realFileSystem,
  writeFileAtomic,
  type SettingsFileSystem,
} from "./settingsFile.js";

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

/**
 * Applies a patch section by section: each named field replaces the old one (arrays are replaced
 * whole), other fields stay. Works for settings and for merging two patches.
 */
function mergeSections<T extends object>(base: T, patch: SettingsPatch): T {
  const out = structuredClone(base) as Json;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const current = out[key];
    const isSection = typeof value === "object" && value !== null && !Array.isArray(value);
    out[key] =
      isSection && typeof current === "object" && current !== null ? { ...current, ...value } : value;
  }
  return out as T;
}

/** A readable name for a schema issue's place: "hardware.threads". */
const fieldName = (path: readonly PropertyKey[]): string => path.map(String).join(".") || "the file";

/**
 * Parses the settings of a current-format file, keeping every field that is valid: an invalid
 * field takes its default, and its name is reported. Undefined when nothing can be kept.
 */
function parseKeepingValidFields(raw: Json): { settings: Settings; dropped: string[] } | undefined {
  const candidate = structuredClone(raw);
  const dropped: string[] = [];
  for (let attempt = 0; attempt < 64; attempt++) {
    const result = settingsSchema.safeParse(candidate);
    if (result.success) return { settings: result.data, dropped };
    const issue = result.error.issues[0]!;
    // Reset the smallest part that holds the issue: a field of a section, or the section itself.
    const path = issue.path.slice(0, 2).map(String);
    if (path.length === 0 || path[0] === "version") return undefined;
    const [section, field] = path as [string, string | undefined];
    const holder = candidate[section];
    if (field !== undefined && typeof holder === "object" && holder !== null && !Array.isArray(holder)) {
      delete (holder as Json)[field];
    } else {
      delete candidate[section];
    }
    dropped.push(`${fieldName(path)} (${issue.message.replace(/^Invalid input: /, "")})`);
  }
  return undefined;
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
     * Keeps the original aside, byte for byte, under a name that says why: moved when Duet will
     * not use it, copied when a converted version replaces it. Undefined when the folder is not writable.
     */
    const keepAside = async (label: string, how: "move" | "copy"): Promise<string | undefined> => {
      const preserved = join(folder, `settings.${label}-${stamp}.json`);
      try {
        if (how === "move") await fs.rename(path, preserved);
        else await fs.copyFile(path, preserved);
        return preserved;
      } catch {
        return undefined;
      }
    };
    /** Defaults, with a notice, for a file Duet cannot use; the file itself is kept. */
    const setAside = async (kind: "corrupt" | "newer", label: string, reason: string) => {
      const preservedAs = await keepAside(label, "move");
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

    const current = format.kind === "old" ? migrateSettings(raw as Json, format.version) : (raw as Json);
    const parsed = parseKeepingValidFields(current);
    if (!parsed)
      return setAside(
        "corrupt",
        "corrupt",
        "Your settings file could not be used: its format version is damaged.",
      );
    if (format.kind === "current" && parsed.dropped.length === 0) return make(parsed.settings);

    // The file must be rewritten (an old format, or invalid fields): keep the original first.
    const label = format.kind === "old" ? `format-${format.version}` : "corrupt";
    const preservedAs = await keepAside(label, "copy");
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
    const checked = this.validate(patch);
    const candidate = mergeSections(this.get(), checked);
    this.check(candidate);
    this.overrides = mergeSections(this.overrides, checked);
    this.notify();
  }

  /**
   * Applies a change and saves it. Throws a readable DuetError and changes nothing when the change
   * is invalid. When the file cannot be written, the change holds for this run and the notice says
   * why and how to fix it.
   */
  async update(patch: SettingsPatch): Promise<Settings> {
    const checked = this.validate(patch);
    const candidate = mergeSections(this.persisted, checked);
    this.check(candidate);
    this.persisted = candidate;
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

  private check(candidate: Settings): void {
    const result = settingsSchema.safeParse(candidate);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new DuetError(
        "invalid-argument",
        `Invalid setting ${fieldName(issue?.path ?? [])}: ${issue?.message ?? "rejected"}.`,
      );
    }
  }

  private notify(): void {
    const settings = this.get();
    for (const listener of this.listeners) listener(settings);
  }

  private async save(): Promise<void> {
    if (!this.writableFile) {
      if (!this.noticeValue)
        this.noticeValue = {
          kind: "unwritable",
          message: `Your settings cannot be saved to ${this.path}; changes last until Duet closes.`,
        };
      return;
    }
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
