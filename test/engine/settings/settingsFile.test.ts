/**
 * The settings file's own operations: the atomic write (no half-written file, no temporary file
 * left after any failure), the real file system's rules, and each file error in words with the fix.
 */
import { mkdtempSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  realFileSystem,
  writeFileAtomic,
  type SettingsFileSystem,
} from "../../../src/engine/settings/settingsFile.js";
import { errnoCode, explainFileError } from "../../../src/engine/fileErrors.js";

const folder = () => mkdtempSync(join(tmpdir(), "duet-settings-file-"));
const failure = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

type Call = [operation: string, ...args: unknown[]];

/** The real file system with every call recorded, and the named operations failing with `code`. */
function disk(failing: Partial<Record<keyof SettingsFileSystem, string>> = {}) {
  const calls: Call[] = [];
  const wrap =
    <A extends unknown[], R>(name: keyof SettingsFileSystem, real: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls.push([name, ...args]);
      const code = failing[name];
      if (code) throw failure(code);
      return real(...args);
    };
  const fs: SettingsFileSystem = {
    readFile: wrap("readFile", realFileSystem.readFile),
    writeFile: wrap("writeFile", realFileSystem.writeFile),
    rename: wrap("rename", realFileSystem.rename),
    copyFile: wrap("copyFile", realFileSystem.copyFile),
    mkdir: wrap("mkdir", realFileSystem.mkdir),
    rm: wrap("rm", realFileSystem.rm),
  };
  return { fs, calls };
}

describe("writing the settings file atomically", () => {
  it("writes a flushed temporary file next to the target, then renames it over the target", async () => {
    const dir = folder();
    const path = join(dir, "settings.json");
    await writeFile(path, "old");
    const { fs, calls } = disk();
    await writeFileAtomic(path, "new\n", fs);
    expect(await readFile(path, "utf8")).toBe("new\n");
    expect(await readdir(dir)).toEqual(["settings.json"]);
    expect(calls.map(([operation]) => operation)).toEqual(["writeFile", "rename"]);
    const [, temporary, data, options] = calls[0]!;
    expect(dirname(temporary as string)).toBe(dir);
    expect(basename(temporary as string)).toMatch(
      new RegExp(`^\\.settings\\.json\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`),
    );
    expect(data).toBe("new\n");
    expect(options).toEqual({ flush: true });
    expect(calls[1]).toEqual(["rename", temporary, path]);
  });

  it("uses a new temporary name for every write", async () => {
    const dir = folder();
    const { fs, calls } = disk();
    await writeFileAtomic(join(dir, "a.json"), "1", fs);
    await writeFileAtomic(join(dir, "a.json"), "2", fs);
    const temporaries = calls.filter(([operation]) => operation === "writeFile").map(([, path]) => path);
    expect(new Set(temporaries).size).toBe(2);
  });

  it.each([
    ["the temporary file cannot be written", { writeFile: "ENOSPC" }, "ENOSPC"],
    ["the rename fails", { rename: "EXDEV" }, "EXDEV"],
    ["the rename fails and so does the clean-up", { rename: "EIO", rm: "EBUSY" }, "EIO"],
  ] as const)(
    "removes the temporary file and reports the first error when %s",
    async (_name, failing, code) => {
      const dir = folder();
      const path = join(dir, "settings.json");
      await writeFile(path, "old");
      const { fs, calls } = disk(failing);
      const error = await writeFileAtomic(path, "new", fs).catch((e: unknown) => e);
      expect(errnoCode(error)).toBe(code);
      const temporary = calls[0]![1];
      expect(calls.at(-1)).toEqual(["rm", temporary, { force: true }]);
      expect(await readFile(path, "utf8")).toBe("old");
      if (!("rm" in failing)) expect(await readdir(dir)).toEqual(["settings.json"]);
    },
  );

  it("leaves no temporary file when the target is a folder, on the real file system", async () => {
    const dir = folder();
    await mkdir(join(dir, "settings.json"));
    const error = await writeFileAtomic(join(dir, "settings.json"), "{}").catch((e: unknown) => e);
    expect(errnoCode(error)).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(await readdir(dir)).toEqual(["settings.json"]);
  });
});

describe("the real file system", () => {
  it("never copies over an existing file, so a kept-aside original is never overwritten", async () => {
    const dir = folder();
    await writeFile(join(dir, "a"), "original");
    await writeFile(join(dir, "b"), "kept");
    const error = await realFileSystem.copyFile(join(dir, "a"), join(dir, "b")).catch((e: unknown) => e);
    expect(errnoCode(error)).toBe("EEXIST");
    expect(await readFile(join(dir, "b"), "utf8")).toBe("kept");
    await realFileSystem.copyFile(join(dir, "a"), join(dir, "c"));
    expect(await readFile(join(dir, "c"), "utf8")).toBe("original");
  });

  it("reads, writes text, renames, creates folders and removes files", async () => {
    const dir = folder();
    const nested = join(dir, "x", "y");
    await realFileSystem.mkdir(nested, { recursive: true });
    await realFileSystem.writeFile(join(nested, "f"), "héllo", { flush: true });
    expect((await realFileSystem.readFile(join(nested, "f"))).toString("utf8")).toBe("héllo");
    await realFileSystem.rename(join(nested, "f"), join(nested, "g"));
    expect(await readdir(nested)).toEqual(["g"]);
    await realFileSystem.rm(join(nested, "g"), { force: true });
    await realFileSystem.rm(join(nested, "missing"), { force: true });
    expect(await readdir(nested)).toEqual([]);
  });
});

describe("file errors in words", () => {
  const path = "/home/ana/.config/Duet/settings.json";

  it("reads the errno code only when there is one", () => {
    expect(errnoCode(failure("EACCES"))).toBe("EACCES");
    expect(errnoCode(Object.assign(new Error("x"), { code: 13 }))).toBeUndefined();
    expect(errnoCode(new Error("x"))).toBeUndefined();
    expect(errnoCode(undefined)).toBeUndefined();
    expect(errnoCode(null)).toBeUndefined();
  });

  it.each([
    [
      "EACCES",
      "read",
      'Duet may not read /home/ana/.config/Duet/settings.json (permission denied; the folder may belong to another user, for example after running Duet with sudo). Fix: give it back to your user (`sudo chown -R "$USER" "/home/ana/.config/Duet"` on Linux and macOS), or set DUET_DATA_DIR to a folder you own.',
    ],
    [
      "EPERM",
      "save",
      'Duet may not save /home/ana/.config/Duet/settings.json (permission denied; the folder may belong to another user, for example after running Duet with sudo). Fix: give it back to your user (`sudo chown -R "$USER" "/home/ana/.config/Duet"` on Linux and macOS), or set DUET_DATA_DIR to a folder you own.',
    ],
    [
      "EROFS",
      "save",
      "Duet cannot save /home/ana/.config/Duet/settings.json: the disk is read-only. Fix: set DUET_DATA_DIR to a writable folder.",
    ],
    [
      "ENOSPC",
      "save",
      "Duet cannot save /home/ana/.config/Duet/settings.json: the disk is full. Free some space.",
    ],
    [
      "EISDIR",
      "read",
      "/home/ana/.config/Duet/settings.json is a folder, not a file. Fix: move that folder away; Duet then creates the file.",
    ],
    [
      "ENOTDIR",
      "read",
      "Duet cannot read /home/ana/.config/Duet/settings.json: part of that path is a file, not a folder. Fix: set DUET_DATA_DIR to another folder.",
    ],
    ["EIO", "read", "Duet cannot read /home/ana/.config/Duet/settings.json (EIO: injected)."],
  ] as const)("explains %s when trying to %s, with the fix", (code, doing, words) => {
    expect(explainFileError(failure(code), path, doing)).toBe(words);
  });

  it("explains a failure that is not an Error by what it says", () => {
    expect(explainFileError("disk on fire", path, "save")).toBe(
      "Duet cannot save /home/ana/.config/Duet/settings.json (disk on fire).",
    );
  });
});
