/**
 * Checks for updates in a packaged app: once shortly after start, then every few hours. Updates
 * download in the background and install when the user quits. Off in development (`npm run dev`
 * or an unpacked run), where there is nothing to update.
 */
import type { LogLevel } from "../logging/logFile.js";
import { checkForUpdate, type UpdateStatus, type UpdaterLike } from "./updateCheck.js";

/** What the service sets on electron-updater's AppUpdater besides the check. */
export interface AutoUpdaterLike extends UpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  logger: {
    info(message?: unknown): void;
    warn(message?: unknown): void;
    error(message?: unknown): void;
  } | null;
  on(event: "update-downloaded", listener: (info: { version: string }) => void): unknown;
}

export interface UpdateServiceOptions {
  packaged: boolean;
  /** Loads electron-updater's `autoUpdater` (only in a packaged app). */
  loadUpdater: () => Promise<AutoUpdaterLike>;
  log: (level: LogLevel, text: string) => void;
  onStatus: (status: UpdateStatus) => void;
  /** Default: every 6 hours. */
  intervalMs?: number;
}

export interface UpdateService {
  checkNow(): Promise<UpdateStatus>;
  stop(): void;
}

export function startUpdateService(options: UpdateServiceOptions): UpdateService {
  const report = (status: UpdateStatus): UpdateStatus => {
    options.log(status.state === "error" ? "warn" : "info", status.message);
    options.onStatus(status);
    return status;
  };
  if (!options.packaged) {
    report({ state: "off", message: "Updates are off in development." });
    return {
      checkNow: async () => ({ state: "off", message: "Updates are off in development." }),
      stop: () => {},
    };
  }
  let updater: Promise<AutoUpdaterLike> | undefined;
  const load = (): Promise<AutoUpdaterLike> =>
    (updater ??= options.loadUpdater().then((u) => {
      u.autoDownload = true;
      u.autoInstallOnAppQuit = true;
      u.logger = {
        info: (m) => options.log("info", `updater: ${String(m)}`),
        warn: (m) => options.log("warn", `updater: ${String(m)}`),
        error: (m) => options.log("error", `updater: ${String(m)}`),
      };
      u.on("update-downloaded", (info) =>
        report({
          state: "downloaded",
          version: info.version,
          message: `Duet ${info.version} is ready: it will be installed when you quit.`,
        }),
      );
      return u;
    }));
  const checkNow = async (): Promise<UpdateStatus> => {
    options.onStatus({ state: "checking", message: "Checking for updates…" });
    try {
      return report(await checkForUpdate(await load(), report));
    } catch (error) {
      return report({ state: "error", message: `The updater could not start: ${(error as Error).message}` });
    }
  };
  const timer = setInterval(() => void checkNow(), options.intervalMs ?? 6 * 3600_000);
  timer.unref();
  void checkNow();
  return { checkNow, stop: () => clearInterval(timer) };
}
