import { copyFileSync, mkdirSync, mkdtempSync, truncateSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelManager } from "../../../src/engine/models/manager.js";
import { resolveModel } from "../../../src/engine/models/resolve.js";
import { SettingsStore } from "../../../src/engine/settings/store.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { tinyModelPath } from "../../helpers/models.js";

/** A models folder, a data folder, and a fake home with a model in LM Studio's folder. */
async function setup() {
  const root = mkdtempSync(join(tmpdir(), "duet-resolve-"));
  const folder = join(root, "models");
  const home = join(root, "home");
  mkdirSync(folder, { recursive: true });
  const demo = await tinyModelPath({ program: DEMO_PROGRAM });
  const lmStudio = join(home, ".lmstudio", "models", "someone", "Demo-GGUF");
  mkdirSync(lmStudio, { recursive: true });
  copyFileSync(demo, join(lmStudio, "demo-q8.gguf"));
  const settings = await SettingsStore.open(join(root, "data"));
  const manager = new ModelManager({
    folder,
    settings,
    entries: [],
    findModels: { home, env: {}, platform: "linux" },
  });
  return { root, folder, home, demo, settings, manager, lmStudioModel: join(lmStudio, "demo-q8.gguf") };
}

describe("one model resolution for the app and every command", () => {
  it("lists models found in other apps' folders, but never picks one unless chosen", async () => {
    const { manager, lmStudioModel } = await setup();
    const plain = await manager.list();
    expect(plain.some((m) => m.source === "found")).toBe(false);
    const withFound = await manager.list({ found: true });
    expect(withFound).toContainEqual(
      expect.objectContaining({
        source: "found",
        foundIn: "LM Studio",
        path: lmStudioModel,
        kind: "llm",
        installed: true,
      }),
    );
    // Nothing chosen and nothing of Duet's own: "none", not the other app's file.
    expect(await resolveModel("llm", null, withFound)).toMatchObject({ status: "none" });
    // Chosen in Settings: used where it is.
    expect(await resolveModel("llm", lmStudioModel, withFound)).toMatchObject({
      status: "ok",
      path: lmStudioModel,
      chosen: true,
    });
  });

  it("picks the newest of the models folder's files when none is chosen, and says when the chosen one is gone", async () => {
    const { folder, demo, manager } = await setup();
    copyFileSync(demo, join(folder, "older.gguf"));
    copyFileSync(demo, join(folder, "newer.gguf"));
    utimesSync(join(folder, "older.gguf"), new Date(2024, 0, 1), new Date(2024, 0, 1));
    const models = await manager.list({ found: true });
    expect(await resolveModel("llm", null, models)).toMatchObject({
      status: "ok",
      path: join(folder, "newer.gguf"),
      chosen: false,
    });
    const gone = await resolveModel("llm", join(folder, "deleted.gguf"), models);
    expect(gone).toMatchObject({ status: "missing", name: "deleted.gguf" });
    expect(gone.status === "missing" && gone.message).toMatch(
      /chosen reasoning model deleted\.gguf is missing/,
    );
  });

  it("never picks a damaged file, says why when nothing else is there, and runs it only when chosen", async () => {
    const { folder, demo, manager } = await setup();
    const damaged = join(folder, "damaged.gguf");
    copyFileSync(demo, damaged);
    truncateSync(damaged, 1000);
    const models = await manager.list();
    expect(models.find((m) => m.path === damaged)).toMatchObject({
      installed: false,
      problem: expect.stringMatching(/damaged\.gguf is truncated or damaged/),
    });
    const none = await resolveModel("llm", null, models);
    expect(none).toEqual({
      status: "none",
      message: expect.stringMatching(
        /^No reasoning model Duet can run is installed: .*damaged\.gguf is truncated/,
      ),
      unusable: [expect.stringContaining(damaged)],
    });
    // Chosen, it is the user's file to run: opening it says what is wrong (not "missing").
    expect(await resolveModel("llm", damaged, models)).toMatchObject({
      status: "ok",
      path: damaged,
      chosen: true,
    });
    // A good model beside it is picked even though the damaged one is newer.
    const good = join(folder, "good.gguf");
    copyFileSync(demo, good);
    utimesSync(good, new Date(2024, 0, 1), new Date(2024, 0, 1));
    expect(await resolveModel("llm", null, await manager.list())).toMatchObject({ status: "ok", path: good });
    // Once the file is whole again (its size and time changed), it is checked again and picked.
    copyFileSync(demo, damaged);
    expect((await manager.list()).find((m) => m.path === damaged)).toMatchObject({ installed: true });
    expect(await resolveModel("llm", null, await manager.list())).toMatchObject({
      status: "ok",
      path: damaged,
    });
  });
});
