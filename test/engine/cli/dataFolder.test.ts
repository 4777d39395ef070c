/**
 * A data folder Duet cannot write: the commands still run, with settings in memory, and say in
 * one line where they cannot write and how to fix it. Tests run as root, where a read-only folder
 * is still writable, so the folders are made unwritable by their shape: a data folder beneath a
 * regular file (ENOTDIR), and a settings.json that is a folder (EISDIR).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { runCli } from "../../helpers/cli.js";
import { closedPortUrl } from "../../helpers/fileServer.js";
import { tinyModelPath } from "../../helpers/models.js";

interface Unwritable {
  /** DUET_DATA_DIR for the run. */
  dataDir: string;
  /** The path the notice must name. */
  named: string;
  /** What must still be as it was after the run (the file or folder in the way). */
  untouched: () => void;
}

const unwritable: Record<string, () => Unwritable> = {
  "a data folder beneath a regular file": () => {
    const root = mkdtempSync(join(tmpdir(), "duet-unwritable-"));
    const blocker = join(root, "blocker");
    writeFileSync(blocker, "not a folder\n");
    const dataDir = join(blocker, "duet");
    return {
      dataDir,
      named: join(dataDir, "settings.json"),
      untouched: () => expect(statSync(blocker).isFile()).toBe(true),
    };
  },
  "a settings.json that is a folder": () => {
    const dataDir = mkdtempSync(join(tmpdir(), "duet-unwritable-"));
    const settings = join(dataDir, "settings.json");
    mkdirSync(settings);
    writeFileSync(join(settings, "keep.txt"), "mine\n");
    return {
      dataDir,
      named: settings,
      untouched: () => {
        expect(readdirSync(settings)).toEqual(["keep.txt"]);
        // Nothing was kept aside or written next to it.
        expect(readdirSync(dataDir)).toEqual(["settings.json"]);
      },
    };
  },
};

/** Duet's lines on stderr ("duet: ..."). */
const duetLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("duet: "));

/** One line that names the path, says it cannot be used and how to fix it; no stack, no bare errno code. */
function expectOneClearLine(stderr: string, path: string): void {
  const lines = duetLines(stderr).filter((l) => l.includes(path));
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/Fix: /);
  expect(line).toMatch(/Default settings are in use/);
  expect(line).not.toMatch(/\bE[A-Z]{3,}\b/);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe.each(Object.keys(unwritable))("with %s", (name) => {
  it("npm run models -- list runs and says once where it cannot write and how to fix it", async () => {
    const folder = unwritable[name]!();
    const models = mkdtempSync(join(tmpdir(), "duet-models-"));
    const { code, stdout, stderr } = await runCli("models.ts", ["list"], {
      env: { DUET_DATA_DIR: folder.dataDir, DUET_MODELS_DIR: models },
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/qwen3-1\.7b +llm/);
    expectOneClearLine(stderr, folder.named);
    folder.untouched();
  });

  it("npm run ask answers with the settings in memory and says once where it cannot write", async () => {
    const folder = unwritable[name]!();
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stdout, stderr } = await runCli(
      "ask.ts",
      ["--model", model, "--gpu", "cpu", "--json", "What is two plus two?"],
      { env: { DUET_DATA_DIR: folder.dataDir } },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toMatchObject({
      answer: "Let me work it out!\n\nSo the answer is 4.",
      endReason: "end-of-turn",
    });
    expectOneClearLine(stderr, folder.named);
    folder.untouched();
  });
});

describe("changes that cannot be saved", () => {
  it("npm run models -- import says the model is usable for this run only", async () => {
    const folder = unwritable["a settings.json that is a folder"]!();
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stdout, stderr } = await runCli("models.ts", ["import", model], {
      env: { DUET_DATA_DIR: folder.dataDir, DUET_MODELS_DIR: mkdtempSync(join(tmpdir(), "duet-models-")) },
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Added duet-tiny-qwen3 \(llm\)/);
    expect(duetLines(stderr)).toContainEqual(
      expect.stringMatching(
        /^duet: duet-tiny-qwen3 is added for this run only: Duet cannot save its settings \(.*settings\.json; see above\)\.$/,
      ),
    );
    folder.untouched();
  });

  it("npm run models -- download into a models folder that cannot be made: one line, in words", async () => {
    const folder = unwritable["a data folder beneath a regular file"]!();
    const { code, stdout, stderr } = await runCli("models.ts", ["download", "silero-vad"], {
      // The models folder is the data folder's (beneath the file); nothing may reach the network.
      env: { DUET_DATA_DIR: folder.dataDir, DUET_MIRROR: await closedPortUrl() },
    });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const models = join(folder.dataDir, "models");
    const lines = duetLines(stderr).filter((l) => l.includes(models));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Duet cannot create .*: part of that path is a file, not a folder\. Fix: /);
    expect(lines[0]).not.toMatch(/\bENOTDIR\b/);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(models)).toBe(false);
    folder.untouched();
  });
});
