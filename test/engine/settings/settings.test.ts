import { mkdirSync, mkdtempSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
