/**
 * Settings formats (src/engine/settings/migrations.ts): every format is recognised or refused by
 * its version field alone, and format 0 (the first command-line builds' flat file) converts field
 * by field, taking only values of the right type.
 */
import { describe, expect, it } from "vitest";
import { SETTINGS_VERSION } from "../../../src/shared/settings.js";
import { migrateSettings, settingsFormat } from "../../../src/engine/settings/migrations.js";

describe("recognising a settings file's format", () => {
  it("reads the current version, a newer one, and format 0 with or without its version", () => {
    expect(settingsFormat({ version: SETTINGS_VERSION })).toEqual({
      kind: "current",
      version: SETTINGS_VERSION,
    });
    expect(settingsFormat({ version: SETTINGS_VERSION + 1 })).toEqual({
      kind: "newer",
      version: SETTINGS_VERSION + 1,
    });
    expect(settingsFormat({ version: 1000 })).toEqual({ kind: "newer", version: 1000 });
    expect(settingsFormat({ version: 0 })).toEqual({ kind: "old", version: 0 });
    expect(settingsFormat({ model: "q.gguf" })).toEqual({ kind: "old", version: 0 });
    expect(settingsFormat({ model: "q.gguf", gpu: "cpu", threads: 4, layout: "paper" })).toEqual({
      kind: "old",
      version: 0,
    });
  });

  it.each([
    ["a string", "settings", "it does not hold a settings object"],
    ["a number", 1, "it does not hold a settings object"],
    ["null", null, "it does not hold a settings object"],
    ["an array", [{ version: 1 }], "it does not hold a settings object"],
    ["an empty object", {}, "it has no format version"],
    ["format 0 keys mixed with others", { model: "q.gguf", speech: {} }, "it has no format version"],
    ["a version written as a string", { version: "1" }, 'its format version "1" is not one Duet wrote'],
    ["a fractional version", { version: 0.5 }, "its format version 0.5 is not one Duet wrote"],
    ["a negative version", { version: -1 }, "its format version -1 is not one Duet wrote"],
    ["a null version", { version: null }, "its format version null is not one Duet wrote"],
    ["a boolean version", { version: true }, "its format version true is not one Duet wrote"],
  ])("refuses %s, saying why", (_name, raw, reason) => {
    expect(settingsFormat(raw)).toEqual({ kind: "unknown", reason });
  });
});

describe("converting format 0", () => {
  it("moves each field to its section", () => {
    expect(migrateSettings({ model: "/m/q.gguf", gpu: "vulkan", threads: 6, layout: "compact" }, 0)).toEqual({
      version: 1,
      models: { llm: "/m/q.gguf" },
      hardware: { gpu: "vulkan", threads: 6 },
      reasoning: { layout: "compact" },
    });
  });

  it("leaves out each field of the wrong type, so it takes its default", () => {
    expect(migrateSettings({ model: 5, gpu: 1, threads: "6", layout: null }, 0)).toEqual({
      version: 1,
      models: { llm: null },
      hardware: {},
      reasoning: {},
    });
    expect(migrateSettings({}, 0)).toEqual({
      version: 1,
      models: { llm: null },
      hardware: {},
      reasoning: {},
    });
  });

  it("takes each field on its own", () => {
    expect(migrateSettings({ gpu: "cpu" }, 0)).toMatchObject({ hardware: { gpu: "cpu" } });
    expect(migrateSettings({ threads: 2 }, 0)).toMatchObject({ hardware: { threads: 2 } });
    expect(migrateSettings({ gpu: "cpu", threads: "2" }, 0).hardware).toEqual({ gpu: "cpu" });
    expect(migrateSettings({ gpu: 3, threads: 2 }, 0).hardware).toEqual({ threads: 2 });
  });

  it("leaves a current file as it is, and refuses a version it has no conversion from", () => {
    const current = { version: SETTINGS_VERSION, speech: { rate: 1.5 } };
    expect(migrateSettings(current, SETTINGS_VERSION)).toBe(current);
    expect(() => migrateSettings({}, -1)).toThrow("No migration from settings format -1.");
  });
});
