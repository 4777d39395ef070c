import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DuetError } from "../../src/engine/errors.js";
import { explainError } from "../../src/engine/fileErrors.js";

/** The error a real file-system call throws. */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("the call did not fail");
}

describe("explainError", () => {
  const folder = mkdtempSync(join(tmpdir(), "duet-file-errors-"));
  const blocker = join(folder, "blocker");
  writeFileSync(blocker, "a file\n");
  mkdirSync(join(folder, "a-folder"));

  it.each([
    [
      "making a folder beneath a file",
      () => mkdirSync(join(blocker, "models"), { recursive: true }),
      `Duet cannot create ${join(blocker, "models")}: part of that path is a file, not a folder. Fix: set DUET_DATA_DIR to another folder.`,
    ],
    [
      "writing a file where a folder is",
      () => writeFileSync(join(folder, "a-folder"), "{}"),
      `${join(folder, "a-folder")} is a folder, not a file. Fix: move that folder away; Duet then creates the file.`,
    ],
    [
      "writing beneath a file",
      () => writeFileSync(join(blocker, "settings.json"), "{}"),
      `Duet cannot open ${join(blocker, "settings.json")}: part of that path is a file, not a folder. Fix: set DUET_DATA_DIR to another folder.`,
    ],
  ])("explains %s with the path and the fix, never Node's errno message", (_, call, words) => {
    const error = thrownBy(call);
    expect((error as Error).message).toMatch(/^E[A-Z]+: /);
    expect(explainError(error)).toBe(words);
  });

  it("keeps Duet's own messages and others' as they are", () => {
    expect(explainError(new DuetError("model-not-found", "Model file not found: /m.gguf"))).toBe(
      "Model file not found: /m.gguf",
    );
    expect(explainError(new Error("something odd"))).toBe("something odd");
    // An errno error without a path has nothing to name: its message stays.
    expect(explainError(Object.assign(new Error("EPIPE: broken pipe"), { code: "EPIPE" }))).toBe(
      "EPIPE: broken pipe",
    );
    expect(explainError({ message: "from another process" })).toBe("from another process");
    expect(explainError("a string")).toBe("a string");
  });
});
