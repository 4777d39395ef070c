import { mkdtempSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SETTINGS_VERSION, defaultSettings } from "../../../src/engine/settings/schema.js";
import { SettingsStore } from "../../../src/engine/settings/store.js";

const folder = () => mkdtempSync(join(tmpdir(), "duet-settings-"));
const fixedNow = () => new Date("2026-11-27T10:00:00.000Z");

describe("settings", () => {
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
    });
    await store.update({ reasoning: { layout: "compact" }, hardware: { gpu: "cpu", threads: 2 } });
    const reopened = await SettingsStore.open(dir);
    expect(reopened.get().reasoning.layout).toBe("compact");
    expect(reopened.get().reasoning.probeInterval).toBe(20);
    expect(reopened.get().hardware).toMatchObject({ gpu: "cpu", threads: 2 });
    // Only the settings file: no temporary files left behind.
    expect(await readdir(dir)).toEqual(["settings.json"]);
  });

  it("rejects invalid values with a readable error and keeps the old settings", async () => {
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
    expect(store.get()).toEqual(defaultSettings());
  });

  it("keeps a corrupt file aside, uses defaults and says so", async () => {
    const dir = folder();
    await writeFile(join(dir, "settings.json"), '{"version": 1, "reasoning": {"layout": "pap');
    const store = await SettingsStore.open(dir, fixedNow);
    expect(store.get()).toEqual(defaultSettings());
    expect(store.notice).toMatchObject({
      kind: "corrupt",
      preservedAs: join(dir, "settings.corrupt-2026-11-27T10-00-00-000Z.json"),
    });
    expect(store.notice!.message).toMatch(/damaged/);
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toContain('"layout": "pap');

    // Valid JSON but invalid values is corrupt too.
    const dir2 = folder();
    await writeFile(join(dir2, "settings.json"), JSON.stringify({ version: 1, hardware: { threads: -4 } }));
    const store2 = await SettingsStore.open(dir2, fixedNow);
    expect(store2.notice).toMatchObject({ kind: "corrupt" });
  });

  it("keeps a file from a newer Duet aside instead of overwriting it", async () => {
    const dir = folder();
    const future = JSON.stringify({ version: SETTINGS_VERSION + 1, something: "new" });
    await writeFile(join(dir, "settings.json"), future);
    const store = await SettingsStore.open(dir, fixedNow);
    expect(store.notice).toMatchObject({ kind: "newer" });
    expect(store.notice!.message).toMatch(/newer Duet/);
    expect(await readFile(store.notice!.preservedAs!, "utf8")).toBe(future);
  });

  it("migrates the first CLI builds' flat file", async () => {
    const dir = folder();
    await writeFile(
      join(dir, "settings.json"),
      JSON.stringify({ model: "/models/q.gguf", gpu: "vulkan", threads: 6, layout: "compact" }),
    );
    const store = await SettingsStore.open(dir);
    expect(store.notice).toBeUndefined();
    expect(store.get()).toMatchObject({
      version: SETTINGS_VERSION,
      models: { llm: "/models/q.gguf" },
      hardware: { gpu: "vulkan", threads: 6 },
      reasoning: { layout: "compact", probeInterval: 20 },
    });
    // The migrated file is written back in the current format.
    expect(JSON.parse(await readFile(join(dir, "settings.json"), "utf8")).version).toBe(SETTINGS_VERSION);
  });
});
