import { mkdirSync, mkdtempSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { SETTINGS_VERSION, defaultSettings, type Settings } from "../../../src/shared/settings.js";
import { SettingsStore } from "../../../src/engine/settings/store.js";
import { realFileSystem, type SettingsFileSystem } from "../../../src/engine/settings/settingsFile.js";

const folder = () => mkdtempSync(join(tmpdir(), "duet-settings-"));
const now = () => new Date("2026-11-27T10:00:00.000Z");
const stamp = "2026-11-27T10-00-00-000Z";

/** Writes `text` as settings.json and opens the store on it. */
async function openOn(text: string | Buffer, fs?: SettingsFileSystem) {
  const dir = folder();
  await writeFile(join(dir, "settings.json"), text);
  const store = await SettingsStore.open(dir, { now, ...(fs ? { fs } : {}) });
  return { dir, store };
}

/** A file system whose writes fail like a read-only disk (root ignores chmod, so failures are injected). */
function readOnlyDisk(code = "EROFS"): SettingsFileSystem & { attempts: string[] } {
  const attempts: string[] = [];
  const fail = (what: string) => {
    attempts.push(what);
    return Promise.reject(Object.assign(new Error(`${code}: read-only file system, ${what}`), { code }));
  };
  return {
    ...realFileSystem,
    attempts,
    writeFile: (path) => fail(`open '${path}'`),
    rename: (from) => fail(`rename '${from}'`),
    copyFile: (from) => fail(`copyfile '${from}'`),
    mkdir: (path) => fail(`mkdir '${path}'`),
  };
}

describe("settings: the one store", () => {
  it("starts from documented defaults and saves changes atomically", async () => {
    const dir = folder();
    const store = await SettingsStore.open(dir);
    expect(store.notice).toBeUndefined();
    expect(store.get()).toEqual(defaultSettings());
    expect(store.get().reasoning).toEqual({
      layout: "paper",
      mode: "async",
      probeInterval: 20,
      safety: false,
      maxSteps: 1024,
      thoughtSharing: "auto",
    });
    await store.update({ reasoning: { layout: "compact" }, hardware: { gpu: "cpu", threads: 2 } });
    const reopened = await SettingsStore.open(dir);
    expect(reopened.get().reasoning.layout).toBe("compact");
    expect(reopened.get().reasoning.probeInterval).toBe(20);
    expect(reopened.get().hardware).toMatchObject({ gpu: "cpu", threads: 2 });
    // Only the settings file: no temporary files left behind.
    expect(await readdir(dir)).toEqual(["settings.json"]);
  });

  it("changes only the fields a change names, keeping other non-default choices", async () => {
    const store = await SettingsStore.open(folder());
    await store.update({ speech: { language: "de", rate: 1.5 }, hardware: { threads: 3 } });
    await store.update({ speech: { rate: 0.8 } });
    expect(store.get().speech).toEqual({
      ...defaultSettings().speech,
      language: "de",
      rate: 0.8,
    });
    expect(store.get().hardware.threads).toBe(3);
  });

  it("rejects invalid values with a readable error naming the setting, and keeps the old settings", async () => {
    const store = await SettingsStore.open(folder());
    await expect(store.update({ hardware: { gpu: "quantum" as never } })).rejects.toThrow(
      /Invalid setting hardware\.gpu/,
    );
    await expect(store.update({ reasoning: { probeInterval: 0 } })).rejects.toThrow(
      /reasoning\.probeInterval/,
    );
    await expect(store.update({ models: { mirrorBaseUrl: "not a url" } })).rejects.toThrow(
      /models\.mirrorBaseUrl/,
    );
    await expect(store.update({ speech: { listenForever: true } } as never)).rejects.toThrow(/speech/);
    await expect(store.update({ speech: { pauseMs: 50 } })).rejects.toThrow(/speech\.pauseMs/);
    expect(store.get()).toEqual(defaultSettings());
  });

  it("tells listeners about every change, including this run's overrides, which are never saved", async () => {
    const dir = folder();
    const store = await SettingsStore.open(dir);
    const seen: Settings[] = [];
    const stop = store.on((settings) => seen.push(settings));
    store.override({ models: { mirrorBaseUrl: "http://127.0.0.1:9/" } });
    await store.update({ speech: { rate: 1.25 } });
    expect(seen.map((s) => [s.models.mirrorBaseUrl, s.speech.rate])).toEqual([
      ["http://127.0.0.1:9/", 1],
      ["http://127.0.0.1:9/", 1.25],
    ]);
    const saved = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Settings;
    expect(saved.models.mirrorBaseUrl).toBeNull();
    expect(saved.speech.rate).toBe(1.25);
    stop();
    await store.update({ speech: { rate: 1 } });
    expect(seen).toHaveLength(2);
    expect(() => store.override({ hardware: { threads: 0 } })).toThrow(/hardware\.threads/);
  });

  it("reads a file that still holds firstRunDone (never used, removed) without a word", async () => {
    const { store } = await openOn(
      JSON.stringify({ version: 1, speech: { language: "de" }, firstRunDone: true }),
    );
    expect(store.get()).toEqual({
      ...defaultSettings(),
      speech: { ...defaultSettings().speech, language: "de" },
    });
    expect(store.notice).toBeUndefined();
  });

  it("takes a section or a field set to undefined as not named: it changes nothing", async () => {
    const dir = folder();
    const store = await SettingsStore.open(dir);
    await store.update({ speech: { rate: 1.5 } });
    await store.update({ speech: undefined, hardware: { threads: 3 } });
    await store.update({ speech: { rate: undefined, language: "de" } });
    const speech = { ...defaultSettings().speech, rate: 1.5, language: "de" };
    expect(store.get().speech).toEqual(speech);
    expect(store.get().hardware.threads).toBe(3);
    const saved = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Settings;
    expect(saved.speech).toEqual(speech);
    store.override({ speech: { rate: 0.5 } });
    store.override({ speech: { rate: undefined, language: "fr" }, hardware: undefined });
    expect(store.get().speech).toEqual({ ...speech, rate: 0.5, language: "fr" });
    expect(store.get().hardware.threads).toBe(3);
  });

  it("refuses an invalid change or override with the invalid-argument code", async () => {
    const store = await SettingsStore.open(folder());
    await expect(store.update({ speech: { rate: 9 } })).rejects.toMatchObject({
      name: "DuetError",
      code: "invalid-argument",
    });
    let refused: unknown;
    try {
      store.override({ hardware: { threads: 0 } });
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ name: "DuetError", code: "invalid-argument" });
    expect(store.get()).toEqual(defaultSettings());
  });
});

describe("settings: nothing the user wrote is lost", () => {
  it("keeps a file that is not JSON aside, byte for byte, and says so", async () => {
    const text = '{"version": 1, "reasoning": {"layout": "pap';
    const { dir, store } = await openOn(text);
    expect(store.get()).toEqual(defaultSettings());
    expect(store.notice).toMatchObject({
      kind: "corrupt",
      preservedAs: join(dir, `settings.corrupt-${stamp}.json`),
    });
    expect(store.notice!.message).toMatch(/damaged: it is not valid JSON/);
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toBe(text);
  });

  it("keeps every valid setting when one has the wrong type, and names that one", async () => {
    const original = JSON.stringify({
      version: 1,
      hardware: { threads: "four", gpu: "vulkan" },
      speech: { language: "fr", rate: 9 },
      reasoning: { layout: "compact" },
    });
    const { dir, store } = await openOn(original);
    expect(store.get().hardware).toMatchObject({ gpu: "vulkan", threads: null });
    expect(store.get().speech).toMatchObject({ language: "fr", rate: 1 });
    expect(store.get().reasoning.layout).toBe("compact");
    expect(store.notice?.kind).toBe("corrupt");
    expect(store.notice!.message).toMatch(/hardware\.threads \(expected number, received string\)/);
    expect(store.notice!.message).toMatch(/speech\.rate/);
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toBe(original);
    // The repaired settings were written back; the original is kept aside.
    const saved = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Settings;
    expect(saved.speech.language).toBe("fr");
  });

  it.each([
    [
      "a version written as a string",
      { version: "1", speech: { language: "de" } },
      /format version "1" is not one Duet wrote/,
    ],
    ["no version", { models: { llm: "x.gguf" }, speech: { language: "de" } }, /no format version/],
    ["a fractional version", { version: 0.5 }, /format version 0\.5/],
    ["a negative version", { version: -1 }, /format version -1/],
    ["an array", [1, 2, 3], /does not hold a settings object/],
    ["null", null, /does not hold a settings object/],
  ])("keeps a file with %s aside unchanged instead of guessing", async (_name, content, reason) => {
    const text = JSON.stringify(content, null, 1);
    const { dir, store } = await openOn(text);
    expect(store.get()).toEqual(defaultSettings());
    expect(store.notice?.kind).toBe("corrupt");
    expect(store.notice!.message).toMatch(reason);
    expect(store.notice!.preservedAs).toBe(join(dir, `settings.unknown-format-${stamp}.json`));
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toBe(text);
  });

  it("keeps a file from a newer Duet aside instead of overwriting it", async () => {
    const future = JSON.stringify({ version: SETTINGS_VERSION + 1, something: "new" });
    const { store } = await openOn(future);
    expect(store.notice).toMatchObject({ kind: "newer" });
    expect(store.notice!.message).toMatch(/newer Duet/);
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toBe(future);
  });

  it("reads a file that starts with a byte-order mark", async () => {
    const body = JSON.stringify({ version: 1, speech: { language: "es" } });
    const { store } = await openOn(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]));
    expect(store.notice).toBeUndefined();
    expect(store.get().speech.language).toBe("es");
  });

  it("keeps a U+FEFF inside a value: only a byte-order mark at the very start is dropped", async () => {
    const body = JSON.stringify({ version: 1, speech: { vocabularyPrompt: "Duet\uFEFF Anchor" } });
    const { store } = await openOn(body);
    expect(store.notice).toBeUndefined();
    expect(store.get().speech.vocabularyPrompt).toBe("Duet\uFEFF Anchor");
  });

  it("leaves the original in place when its converted settings cannot be saved", async () => {
    const original = JSON.stringify({ model: "/models/q.gguf", threads: 6 });
    const disk = recordingDisk({ writeFile: "ENOSPC" });
    const { dir, store } = await openOn(original, disk.fs);
    const path = join(dir, "settings.json");
    // The original was copied, not moved: settings.json still holds it, and so does the copy.
    expect(await readFile(path, "utf8")).toBe(original);
    expect(await readFile(join(dir, `settings.format-0-${stamp}.json`), "utf8")).toBe(original);
    expect((await readdir(dir)).sort()).toEqual([`settings.format-0-${stamp}.json`, "settings.json"]);
    expect(store.get()).toMatchObject({ models: { llm: "/models/q.gguf" }, hardware: { threads: 6 } });
    expect(store.notice).toEqual({
      kind: "unwritable",
      message: `Your settings cannot be saved, so changes last until Duet closes. Duet cannot save ${path}: the disk is full. Free some space.`,
    });
  });

  it("migrates the first command-line builds' flat file from a copy, keeping the original", async () => {
    const original = JSON.stringify({
      model: "/models/q.gguf",
      gpu: "vulkan",
      threads: 6,
      layout: "compact",
    });
    const { dir, store } = await openOn(original);
    expect(store.notice).toMatchObject({
      kind: "migrated",
      preservedAs: join(dir, `settings.format-0-${stamp}.json`),
    });
    expect(store.get()).toMatchObject({
      version: SETTINGS_VERSION,
      models: { llm: "/models/q.gguf" },
      hardware: { gpu: "vulkan", threads: 6 },
      reasoning: { layout: "compact", probeInterval: 20 },
    });
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toBe(original);
    const written = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Settings;
    expect(written.version).toBe(SETTINGS_VERSION);
    expect((await readdir(dir)).sort()).toEqual([
      "settings.format-0-2026-11-27T10-00-00-000Z.json",
      "settings.json",
    ]);
  });
});

describe("settings: a data folder Duet cannot write", () => {
  it("starts with settings in memory and says where it cannot write and how to fix it", async () => {
    const disk = readOnlyDisk();
    const damaged = '{"version": 1, "hardware": {';
    const { dir, store } = await openOn(damaged, disk);
    expect(store.get()).toEqual(defaultSettings());
    expect(store.writable).toBe(false);
    expect(store.notice!.message).toMatch(/left untouched/);
    expect(store.notice!.message).toContain(join(dir, "settings.json"));
    // The damaged file is still there, unchanged.
    expect(await readFile(join(dir, "settings.json"), "utf8")).toBe(damaged);
    // Changes still apply for this run.
    await store.update({ speech: { rate: 1.5 } });
    expect(store.get().speech.rate).toBe(1.5);
  });

  it("keeps a change in memory when saving fails, with the reason and the fix", async () => {
    const disk = readOnlyDisk("EACCES");
    const dir = folder();
    const store = await SettingsStore.open(dir, { fs: disk });
    expect(store.notice).toBeUndefined();
    await store.update({ reasoning: { layout: "compact" } });
    expect(store.get().reasoning.layout).toBe("compact");
    expect(store.notice).toMatchObject({ kind: "unwritable" });
    expect(store.notice!.message).toMatch(/permission denied.*sudo chown -R "\$USER"/s);
    expect(disk.attempts.length).toBeGreaterThan(0);
  });

  it("leaves no temporary file behind when settings.json is a folder", async () => {
    const dir = folder();
    mkdirSync(join(dir, "settings.json"));
    const store = await SettingsStore.open(dir);
    expect(store.notice).toMatchObject({ kind: "unreadable" });
    expect(store.notice!.message).toMatch(/is a folder, not a file/);
    await store.update({ speech: { rate: 1.2 } });
    expect(store.get().speech.rate).toBe(1.2);
    expect(await readdir(dir)).toEqual(["settings.json"]);
  });
});

type Operation = keyof SettingsFileSystem;

/** The real file system with every call recorded; `failing` makes the named operations fail with an errno code. */
function recordingDisk(failing: Partial<Record<Operation, string>> = {}) {
  const calls: Operation[] = [];
  const fs = { ...realFileSystem };
  for (const name of Object.keys(realFileSystem) as Operation[]) {
    const real = realFileSystem[name] as (...args: unknown[]) => Promise<unknown>;
    (fs as Record<Operation, unknown>)[name] = async (...args: unknown[]) => {
      calls.push(name);
      const code = failing[name];
      if (code) throw Object.assign(new Error(`${code}: injected, ${name}`), { code });
      return real(...args);
    };
  }
  return { fs, calls, failing };
}

describe("settings: reading the file", () => {
  it("uses a valid file as it is, without rewriting it", async () => {
    const text = JSON.stringify({ version: 1, speech: { language: "de" } }, null, 1);
    const disk = recordingDisk();
    const { dir, store } = await openOn(text, disk.fs);
    expect(store.notice).toBeUndefined();
    expect(store.writable).toBe(true);
    expect(store.path).toBe(join(dir, "settings.json"));
    expect(store.get()).toEqual({
      ...defaultSettings(),
      speech: { ...defaultSettings().speech, language: "de" },
    });
    expect(disk.calls).toEqual(["readFile"]);
    expect(await readFile(join(dir, "settings.json"), "utf8")).toBe(text);
  });

  it("uses defaults without a word when there is no file yet", async () => {
    const disk = recordingDisk();
    const store = await SettingsStore.open(folder(), { fs: disk.fs });
    expect(store.notice).toBeUndefined();
    expect(store.writable).toBe(true);
    expect(disk.calls).toEqual(["readFile"]);
  });

  it("uses defaults when the file cannot be read, says why in words, and writes nothing even after a change", async () => {
    const disk = recordingDisk({ readFile: "EACCES" });
    const original = JSON.stringify({ version: 1, speech: { language: "de" } });
    const { dir, store } = await openOn(original, disk.fs);
    const path = join(dir, "settings.json");
    expect(store.get()).toEqual(defaultSettings());
    expect(store.writable).toBe(false);
    expect(store.notice).toEqual({
      kind: "unreadable",
      message: expect.stringContaining(`Duet may not read ${path} (permission denied`) as string,
    });
    expect(store.notice!.message).toMatch(
      /Default settings are in use until then; nothing was changed on disk\.$/,
    );
    await store.update({ speech: { rate: 1.5 } });
    expect(store.get().speech.rate).toBe(1.5);
    expect(store.notice!.kind).toBe("unreadable");
    expect(disk.calls).toEqual(["readFile"]);
    expect(await readFile(path, "utf8")).toBe(original);
  });

  it("keeps a file with one section of the wrong type, resetting only that section", async () => {
    const original = JSON.stringify({
      version: 1,
      hardware: 5,
      speech: { language: "de" },
      models: { llm: "q.gguf", imported: [{ path: "", kind: "llm", name: "x" }] },
    });
    const { store } = await openOn(original);
    expect(store.get().hardware).toEqual(defaultSettings().hardware);
    expect(store.get().speech.language).toBe("de");
    expect(store.get().models).toMatchObject({ llm: "q.gguf", imported: [] });
    expect(store.notice!.message).toContain(
      "Some settings could not be used and are back to their defaults: models.imported (Too small: expected string to have >=1 characters); hardware (expected object, received number).",
    );
  });

  it("resets a section written as a list or as null", async () => {
    const original = JSON.stringify({
      version: 1,
      hardware: [{ threads: 2 }],
      reasoning: null,
      speech: { language: "de" },
    });
    const { store } = await openOn(original);
    expect(store.get()).toEqual({
      ...defaultSettings(),
      speech: { ...defaultSettings().speech, language: "de" },
    });
    expect(store.notice!.message).toContain(
      "back to their defaults: hardware (expected object, received array); reasoning (expected object, received null).",
    );
  });

  it("names each broken field once, with its first reason, and keeps the section's other fields", async () => {
    const original = JSON.stringify({
      version: 1,
      models: {
        llm: "q.gguf",
        imported: [
          { path: "", kind: "llm", name: "a" },
          { path: "/m/b.gguf", kind: "tape", name: "b" },
        ],
      },
      speech: { language: 3, rate: 9, vocabularyPrompt: "Duet" },
    });
    const { store } = await openOn(original);
    expect(store.get().models).toEqual({ ...defaultSettings().models, llm: "q.gguf" });
    expect(store.get().speech).toEqual({ ...defaultSettings().speech, vocabularyPrompt: "Duet" });
    expect(store.notice!.message).toBe(
      `Some settings could not be used and are back to their defaults: models.imported (Too small: expected string to have >=1 characters); speech.language (expected string, received number); speech.rate (Too big: expected number to be <=2). The original file was kept as ${store.notice!.preservedAs}.`,
    );
  });
});

describe("settings: every file kept aside, or left alone when it cannot be", () => {
  const cases = [
    ["not JSON", "{", "corrupt", "corrupt", "move", /damaged: it is not valid JSON/],
    [
      "from a newer Duet",
      JSON.stringify({ version: SETTINGS_VERSION + 1 }),
      "newer",
      "from-newer-duet",
      "move",
      new RegExp(
        `written by a newer Duet \\(format ${SETTINGS_VERSION + 1}; this version reads up to ${SETTINGS_VERSION}\\)`,
      ),
    ],
    [
      "of an unknown format",
      JSON.stringify({ version: "one" }),
      "corrupt",
      "unknown-format",
      "move",
      /could not be used: its format version "one" is not one Duet wrote\./,
    ],
    [
      "with an invalid field",
      JSON.stringify({ version: 1, speech: { language: "de", rate: 9 } }),
      "corrupt",
      "corrupt",
      "copy",
      /back to their defaults: speech\.rate \(/,
    ],
    [
      "of format 0",
      JSON.stringify({ model: "q.gguf", threads: 3 }),
      "migrated",
      "format-0",
      "copy",
      /converted from an older Duet's format\./,
    ],
  ] as const;

  it.each(cases)(
    "keeps a file %s aside under a name that says why",
    async (_name, text, kind, label, how, reason) => {
      const disk = recordingDisk();
      const { dir, store } = await openOn(text, disk.fs);
      const preservedAs = join(dir, `settings.${label}-${stamp}.json`);
      expect(store.notice).toMatchObject({ kind, preservedAs });
      expect(store.notice!.message).toMatch(reason);
      expect(store.notice!.message).toContain(
        how === "move"
          ? `Default settings are in use; your file was kept as ${preservedAs}.`
          : `The original file was kept as ${preservedAs}.`,
      );
      expect(store.writable).toBe(true);
      expect(await readFile(preservedAs, "utf8")).toBe(text);
      expect(disk.calls).toContain(how === "move" ? "rename" : "copyFile");
      const files = (await readdir(dir)).sort();
      if (how === "move") {
        // Nothing is written until a change: Duet's defaults need no file.
        expect(files).toEqual([basename(preservedAs)]);
        expect(store.get()).toEqual(defaultSettings());
      } else {
        // The converted settings replace the original.
        expect(files).toEqual([basename(preservedAs), "settings.json"].sort());
        const saved = await readFile(join(dir, "settings.json"), "utf8");
        expect(saved).toBe(`${JSON.stringify(store.get(), null, 2)}\n`);
      }
    },
  );

  it.each(cases)(
    "leaves a file %s untouched when nothing can be written next to it",
    async (_name, text, kind, _label, how, reason) => {
      const disk = recordingDisk({ rename: "EROFS", copyFile: "EROFS", writeFile: "EROFS", mkdir: "EROFS" });
      const { dir, store } = await openOn(text, disk.fs);
      const path = join(dir, "settings.json");
      expect(store.notice).toEqual({ kind, message: expect.stringMatching(reason) as string });
      expect(store.notice!.message).toContain(
        how === "move"
          ? `Default settings are in use for now; your file was left untouched, and changes cannot be saved, because Duet cannot write next to it (${path}).`
          : `They are in use for now but cannot be saved: Duet cannot write next to ${path}.`,
      );
      expect(store.writable).toBe(false);
      if (how === "copy") expect(store.get()).not.toEqual(defaultSettings());
      await store.update({ hardware: { threads: 7 } });
      expect(store.get().hardware.threads).toBe(7);
      expect(store.notice!.kind).toBe(kind);
      expect(disk.calls.filter((call) => call === "writeFile" || call === "mkdir")).toEqual([]);
      expect(await readdir(dir)).toEqual(["settings.json"]);
      expect(await readFile(path, "utf8")).toBe(text);
    },
  );
});

describe("settings: changes and this run's overrides", () => {
  it("saves readable JSON, creating the data folder when it is missing", async () => {
    const dir = join(folder(), "new", "deeper");
    const store = await SettingsStore.open(dir);
    const settings = await store.update({ hardware: { threads: 4 } });
    expect(settings.hardware.threads).toBe(4);
    expect(await readFile(join(dir, "settings.json"), "utf8")).toBe(`${JSON.stringify(settings, null, 2)}\n`);
  });

  it("replaces lists whole", async () => {
    const store = await SettingsStore.open(folder());
    const model = (name: string) => ({ path: `/m/${name}.gguf`, kind: "llm" as const, name });
    await store.update({ models: { imported: [model("a"), model("b")] } });
    await store.update({ models: { imported: [model("c")] } });
    expect(store.get().models.imported).toEqual([model("c")]);
  });

  it("names the setting a change gets wrong, or says the change is not settings at all", async () => {
    const store = await SettingsStore.open(folder());
    await expect(store.update({ hardware: { threads: "2" as never } })).rejects.toThrow(
      "Invalid setting hardware.threads: Invalid input: expected number, received string.",
    );
    await expect(store.update("threads=2" as never)).rejects.toThrow(/^Invalid setting the file: /);
    expect(() => store.override({ speech: { rate: 5 } })).toThrow(/^Invalid setting speech\.rate: /);
  });

  it("layers overrides over saved changes, field by field, and saves only the changes", async () => {
    const dir = folder();
    const store = await SettingsStore.open(dir);
    store.override({ speech: { rate: 1.5 } });
    store.override({ speech: { language: "fr" } });
    const speech = defaultSettings().speech;
    expect(store.get().speech).toEqual({ ...speech, language: "fr", rate: 1.5 });
    const returned = await store.update({ speech: { language: "de", vocabularyPrompt: "Duet" } });
    // The override still wins for this run; the saved file has the change alone.
    expect(returned.speech).toEqual({ ...speech, language: "fr", rate: 1.5, vocabularyPrompt: "Duet" });
    expect(store.get()).toEqual(returned);
    const saved = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Settings;
    expect(saved.speech).toEqual({ ...speech, language: "de", vocabularyPrompt: "Duet" });
  });

  it("tells every listener the settings in effect, and no one about a refused change", async () => {
    const store = await SettingsStore.open(folder());
    const first: number[] = [];
    const second: number[] = [];
    const stopFirst = store.on((s) => first.push(s.speech.rate));
    store.on((s) => second.push(s.speech.rate));
    store.override({ speech: { rate: 0.5 } });
    await store.update({ hardware: { threads: 2 } });
    await expect(store.update({ speech: { rate: 3 } })).rejects.toThrow(/speech\.rate/);
    expect(() => store.override({ speech: { rate: 3 } })).toThrow(/speech\.rate/);
    stopFirst();
    await store.update({ hardware: { threads: 3 } });
    expect(first).toEqual([0.5, 0.5]);
    expect(second).toEqual([0.5, 0.5, 0.5]);
  });

  it("says when a change cannot be saved, and stops saying so once a save works again", async () => {
    const disk = recordingDisk({ rename: "ENOSPC" });
    const dir = folder();
    const store = await SettingsStore.open(dir, { fs: disk.fs });
    await store.update({ hardware: { threads: 2 } });
    expect(store.notice).toEqual({
      kind: "unwritable",
      message: `Your settings cannot be saved, so changes last until Duet closes. Duet cannot save ${join(dir, "settings.json")}: the disk is full. Free some space.`,
    });
    expect(await readdir(dir)).toEqual([]);
    delete disk.failing.rename;
    await store.update({ hardware: { threads: 3 } });
    expect(store.notice).toBeUndefined();
    const saved = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Settings;
    expect(saved.hardware.threads).toBe(3);
  });

  it("says nothing when a change is saved and nothing was wrong", async () => {
    const dir = folder();
    const store = await SettingsStore.open(dir);
    await store.update({ hardware: { threads: 2 } });
    expect(store.notice).toBeUndefined();
    expect(store.writable).toBe(true);
    expect(JSON.parse(await readFile(join(dir, "settings.json"), "utf8"))).toEqual(store.get());
  });

  it("keeps a conversion's notice after later saves", async () => {
    const { store } = await openOn(JSON.stringify({ model: "q.gguf" }));
    await store.update({ hardware: { threads: 2 } });
    expect(store.notice?.kind).toBe("migrated");
  });
});
