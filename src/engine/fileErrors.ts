/**
 * File-system failures in words: what Duet could not do with which path, why, and the fix. Node's
 * own messages ("ENOTDIR: not a directory, mkdir '...'") never reach a person.
 */
import { dirname } from "node:path";
import { isDuetError } from "./errors.js";

/** What Duet was doing with the path when it failed. */
export type FileAction = "read" | "save" | "create" | "open" | "write";

/** The error's errno code ("EACCES", "EROFS", ...), if it has one. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Why a file operation failed, in words, with what to do about it. */
export function explainFileError(error: unknown, path: string, doing: FileAction): string {
  const folder = dirname(path);
  switch (errnoCode(error)) {
    case "EACCES":
    case "EPERM":
      return (
        `Duet may not ${doing} ${path} (permission denied; the folder may belong to another user, ` +
        `for example after running Duet with sudo). Fix: give it back to your user ` +
        `(\`sudo chown -R "$USER" "${folder}"\` on Linux and macOS), or set DUET_DATA_DIR to a folder you own.`
      );
    case "EROFS":
      return `Duet cannot ${doing} ${path}: the disk is read-only. Fix: set DUET_DATA_DIR to a writable folder.`;
    case "ENOSPC":
    case "EDQUOT":
      return `Duet cannot ${doing} ${path}: the disk is full. Free some space.`;
    case "EISDIR":
      return `${path} is a folder, not a file. Fix: move that folder away; Duet then creates the file.`;
    case "ENOTDIR":
      return `Duet cannot ${doing} ${path}: part of that path is a file, not a folder. Fix: set DUET_DATA_DIR to another folder.`;
    default:
      return `Duet cannot ${doing} ${path} (${error instanceof Error ? error.message : String(error)}).`;
  }
}

/** What a failed system call was doing, from Node's `syscall` field. */
function actionOf(syscall: string | undefined): FileAction {
  switch (syscall) {
    case "mkdir":
    case "mkdtemp":
      return "create";
    case "open":
      return "open";
    case "read":
    case "readdir":
    case "scandir":
    case "stat":
    case "lstat":
    case "access":
    case "realpath":
      return "read";
    default:
      return "write";
  }
}

/**
 * The message of any error for a person: Duet's own errors as they are, a file-system failure
 * that names its path (Node's errno errors) explained with its fix, anything else by its message.
 */
export function explainError(error: unknown): string {
  if (isDuetError(error)) return error.message;
  const failure = error as NodeJS.ErrnoException | undefined;
  if (errnoCode(error) && typeof failure?.path === "string")
    return explainFileError(error, failure.path, actionOf(failure.syscall));
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" ? message : String(error);
}
