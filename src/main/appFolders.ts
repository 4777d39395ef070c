/**
 * One folder for everything Duet keeps: settings and models (the engine's), the log files, crash
 * dumps, and Electron's own data (caches, local storage), all inside Duet's data folder.
 * No Electron import: the packaging check prints these paths, and tests check them.
 */
import { join } from "node:path";
import { duetDataDir } from "../engine/paths.js";

export interface AppFolders {
  /** Duet's data folder (settings.json, models/). DUET_DATA_DIR moves it. */
  data: string;
  /** duet.log and its rotated copies, for the main and the engine process. */
  logs: string;
  /** Crash dumps (minidumps) of every Duet process; never uploaded. */
  crashDumps: string;
  /** Electron's `userData` (caches, local storage, the single-instance lock). */
  electron: string;
}

export function appFolders(dataDir: string = duetDataDir()): AppFolders {
  return {
    data: dataDir,
    logs: join(dataDir, "logs"),
    crashDumps: join(dataDir, "crash-dumps"),
    electron: join(dataDir, "electron"),
  };
}

/** The parts of Electron's `app` that place its folders. */
export interface AppPathsLike {
  setPath(name: "userData" | "sessionData" | "crashDumps", path: string): void;
  setAppLogsPath(path?: string): void;
}

/**
 * Points Electron's folders into Duet's data folder. Must run before the app is ready and before
 * the single-instance lock (which lives in userData) and the crash reporter start.
 */
export function placeAppFolders(app: AppPathsLike, folders: AppFolders): void {
  app.setPath("userData", folders.electron);
  app.setPath("sessionData", folders.electron);
  app.setPath("crashDumps", folders.crashDumps);
  app.setAppLogsPath(folders.logs);
}

/** The part of Electron's `crashReporter` Duet uses. */
export interface CrashReporterLike {
  start(options: { uploadToServer: boolean; compress?: boolean }): void;
}

/** Crash dumps stay on this computer (in `crashDumps`); nothing is sent anywhere. */
export function startLocalCrashDumps(crashReporter: CrashReporterLike): void {
  crashReporter.start({ uploadToServer: false, compress: true });
}
