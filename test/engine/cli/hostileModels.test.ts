/**
 * Damaged and hostile model files through the commands, as a user meets them: one line that names
 * the file and says what is wrong with it, exit code 1, no stack trace, quickly and in bounded
 * memory (a header that claims a gigabyte-long string must not make anyone read a gigabyte).
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { runCli } from "../../helpers/cli.js";
import { header, hostile, u64 } from "../../helpers/hostileGguf.js";
import { scratchPath, tinyModelPath } from "../../helpers/models.js";
import { peakMemoryProbe } from "../../helpers/peakMemory.js";

/** Far below the gigabyte a trusting reader would allocate; well above a command's own use. */
const MEMORY_BOUND = 600 * 2 ** 20;

/** A copy of the demo model cut to 90% of its size: its tensor data ends early. */
async function truncatedModel(): Promise<string> {
  const path = scratchPath("cut.gguf");
  copyFileSync(await tinyModelPath({ program: DEMO_PROGRAM }), path);
  truncateSync(path, Math.floor(statSync(path).size * 0.9));
  return path;
}

const files: Record<string, { make: () => Promise<string>; says: (path: string) => RegExp }> = {
  "a string length field of a gigabyte": {
    // A 2 GiB sparse file whose first key claims to be 1 GiB long.
    make: () => hostile("huge-string.gguf", header(0n, 1n, u64(2n ** 30n - 1n), Buffer.from("x")), 2 ** 31),
    says: (path) => new RegExp(`^duet: ${path} is damaged: the length of a string is 1073741823, more than`),
  },
  "a string length past the end of the file": {
    make: () => hostile("past-end.gguf", header(0n, 1n, u64(5_000_000n), Buffer.from("abc")), 4096),
    says: (path) => new RegExp(`^duet: ${path} is truncated or damaged: the length of a string is 5000000`),
  },
  "a truncated model": {
    make: truncatedModel,
    says: (path) =>
      new RegExp(`^duet: ${path} is truncated: tensor .* The download was probably interrupted; download`),
  },
  "a text file named .gguf": {
    make: async () => {
      const path = scratchPath("notes.gguf");
      writeFileSync(path, "These are my notes, not a model.\n");
      return path;
    },
    says: (path) => new RegExp(`^duet: ${path} is not a GGUF model file \\(it does not start with "GGUF"\\)`),
  },
};

const nonEmptyLines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

describe("npm run ask -- --model <a damaged or hostile file>", () => {
  it.each(Object.keys(files))(
    "%s: exit code 1, one line naming the file and what is wrong, no stack, bounded memory",
    async (name) => {
      const file = files[name]!;
      const path = await file.make();
      const memory = peakMemoryProbe();
      const { code, stdout, stderr } = await runCli("ask.ts", ["--model", path, "--gpu", "cpu", "hi"], {
        env: memory.env,
        timeoutMs: 30_000,
      });
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(nonEmptyLines(stderr)).toEqual([expect.stringMatching(file.says(path))]);
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(memory.peakBytes()).toBeGreaterThan(0);
      expect(memory.peakBytes()).toBeLessThan(MEMORY_BOUND);
    },
  );

  it("with --json, the error is also an event with the reader's code", async () => {
    const path = await files["a string length field of a gigabyte"]!.make();
    const { code, stdout } = await runCli("ask.ts", ["--model", path, "--gpu", "cpu", "--json", "hi"]);
    expect(code).toBe(1);
    expect(nonEmptyLines(stdout).map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: "error", code: "gguf-corrupt", message: expect.stringContaining(`${path} is damaged`) },
    ]);
  });

  it("npm run models -- import refuses each the same way", async () => {
    for (const file of Object.values(files)) {
      const path = await file.make();
      const { code, stdout, stderr } = await runCli("models.ts", ["import", path]);
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(nonEmptyLines(stderr)).toHaveLength(1);
      expect(stderr).toContain(path);
      expect(stderr).not.toMatch(/^\s+at /m);
    }
  });
});

describe("damaged files in the models folder", () => {
  /** A models folder with the demo model and, newer than it, the given damaged files. */
  async function folderWith(damaged: Record<string, () => Promise<string>>, withGood: boolean) {
    const folder = mkdtempSync(join(tmpdir(), "duet-damaged-models-"));
    mkdirSync(folder, { recursive: true });
    const good = join(folder, "demo.gguf");
    if (withGood) {
      copyFileSync(await tinyModelPath({ program: DEMO_PROGRAM }), good);
      utimesSync(good, new Date(2024, 0, 1), new Date(2024, 0, 1));
    }
    const paths: Record<string, string> = {};
    for (const [name, make] of Object.entries(damaged)) {
      paths[name] = join(folder, name);
      copyFileSync(await make(), paths[name]);
    }
    return { folder, good, paths };
  }

  it("are listed as unusable with the reason, and never picked over a good model", async () => {
    const { folder, good, paths } = await folderWith(
      { "cut.gguf": truncatedModel, "notes.gguf": files["a text file named .gguf"]!.make },
      true,
    );
    const env = { DUET_MODELS_DIR: folder };
    const list = await runCli("models.ts", ["list", "--json"], { env });
    expect(list.code).toBe(0);
    const models = JSON.parse(list.stdout) as Array<{ id: string; installed: boolean; problem?: string }>;
    expect(models.find((m) => m.id === good)).toMatchObject({ installed: true });
    expect(models.find((m) => m.id === paths["cut.gguf"])).toMatchObject({
      installed: false,
      problem: expect.stringMatching(/cut\.gguf is truncated/),
    });
    expect(models.find((m) => m.id === paths["notes.gguf"])).toMatchObject({
      installed: false,
      problem: expect.stringMatching(/notes\.gguf is not a GGUF model file/),
    });
    const text = await runCli("models.ts", ["list"], { env });
    expect(text.stdout).toMatch(/^! .*notes\.gguf .*\n {4}.*notes\.gguf is not a GGUF model file/m);

    // The damaged files are newer, but ask runs the good model.
    const ask = await runCli("ask.ts", ["--gpu", "cpu", "--json", "What is two plus two?"], { env });
    expect(ask.code).toBe(0);
    expect(JSON.parse(ask.stdout.trim().split("\n").at(-1)!)).toMatchObject({ model: good });
  });

  it("alone: ask says no model there can be used, and why", async () => {
    const { folder, paths } = await folderWith({ "cut.gguf": truncatedModel }, false);
    const { code, stderr } = await runCli("ask.ts", ["--gpu", "cpu", "hi"], {
      env: { DUET_MODELS_DIR: folder },
    });
    expect(code).toBe(1);
    const lines = nonEmptyLines(stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `No reasoning model Duet can run in ${folder}: ${paths["cut.gguf"]} is truncated`,
    );
    expect(lines[0]).toMatch(/npm run models -- download/);
  });

  it("chosen with --model, it is named as damaged, not as missing", async () => {
    const { folder, paths } = await folderWith({ "cut.gguf": truncatedModel }, true);
    const { code, stderr } = await runCli("ask.ts", ["--model", paths["cut.gguf"]!, "--gpu", "cpu", "hi"], {
      env: { DUET_MODELS_DIR: folder },
    });
    expect(code).toBe(1);
    expect(nonEmptyLines(stderr)).toEqual([expect.stringMatching(/^duet: .*cut\.gguf is truncated: /)]);
  });
});
