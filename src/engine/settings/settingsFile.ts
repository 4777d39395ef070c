import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The file operations the settings store needs. The real file system by default; tests inject
 * failures (a read-only disk, a folder owned by another user) that root cannot produce with chmod.
 */
export interface SettingsFileSystem {
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: string, options: { flush: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  rm(path: string, options: { force: true }): Promise<void>;
}

export const realFileSystem: SettingsFileSystem = {
  readFile: (path) => nodeFs.readFile(path),
  writeFile: (path, data, options) =>
    nodeFs.writeFile(path, data, { encoding: "utf8", flush: options.flush }),
  rename: (from, to) => nodeFs.rename(from, to),
  copyFile: (from, to) => nodeFs.copyFile(from, to, nodeFs.constants.COPYFILE_EXCL),
  mkdir: (path, options) => nodeFs.mkdir(path, options),
  rm: (path, options) => nodeFs.rm(path, options),
};

/**
 * Writes a file so that a crash leaves either the old or the new content, never half of it: a
 * temporary file next to it, flushed, then renamed over it. The temporary file never outlives a
 * failure (for example when the target is a folder).
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  fs: SettingsFileSystem = realFileSystem,
): Promise<void> {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await fs.writeFile(temporary, data, { flush: true });
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}
