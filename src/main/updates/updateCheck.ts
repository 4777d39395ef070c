/**
 * The update check as the user sees it: electron-updater asks GitHub releases (the `publish`
 * setting in electron-builder.yml) for the latest version; the answer, or why there is none, is
 * said in words. No Electron import: tests run the check against a local HTTP server.
 */

/** Where Duet stands with updates; every state carries a sentence for the tray and the log. */
export type UpdateStatus =
  | { state: "off"; message: string }
  | { state: "checking"; message: string }
  | { state: "up-to-date"; version: string; message: string }
  | { state: "available"; version: string; message: string }
  | { state: "downloaded"; version: string; message: string }
  | { state: "offline"; message: string }
  | { state: "error"; message: string };

/** The parts of electron-updater's AppUpdater the check uses. */
export interface UpdaterLike {
  checkForUpdates(): Promise<{
    isUpdateAvailable: boolean;
    updateInfo: { version: string };
    /** Set when electron-updater downloads the update right away (`autoDownload`). */
    downloadPromise?: Promise<unknown> | null;
  } | null>;
  readonly currentVersion: { version: string };
}

/** Connection failures: Node's error codes and Chromium's (Electron's net module). */
const NO_CONNECTION =
  /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN)\b|net::ERR_(INTERNET_DISCONNECTED|NAME_NOT_RESOLVED|NAME_RESOLUTION_FAILED|CONNECTION_\w+|NETWORK_\w+|TIMED_OUT|ADDRESS_UNREACHABLE|PROXY_CONNECTION_FAILED)/;

/** An HTTP status in electron-updater's messages ("HttpError: 404", "status 404: Not Found"). */
const HTTP_STATUS =
  /HttpError: (\d{3})|\bstatus (\d{3})\b|\b(\d{3}) (?:Not Found|Internal Server Error|Forbidden|Bad Gateway)/;

export function offlineStatus(): UpdateStatus {
  return {
    state: "offline",
    message:
      "Duet could not reach the update server: there seems to be no internet connection. It will check again later.",
  };
}

/**
 * An error from the check or the download, in words (`what` failed: why), from its code or its
 * first line (electron-updater appends stacks and the server's XML to its messages).
 */
export function describeUpdateError(error: unknown, what = "The update check failed"): UpdateStatus {
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(error);
  if (NO_CONNECTION.test(code) || NO_CONNECTION.test(message)) return offlineStatus();
  const failed = (why: string): UpdateStatus => ({ state: "error", message: `${what}: ${why}` });
  if (typeof e.statusCode === "number") return failed(`the update server answered ${e.statusCode}.`);
  switch (code) {
    case "ERR_UPDATER_NO_PUBLISHED_VERSIONS":
      return failed("no version of Duet has been published yet.");
    case "ERR_UPDATER_CHANNEL_FILE_NOT_FOUND":
      return failed("the latest release has no update for this system.");
    case "ERR_UPDATER_INVALID_UPDATE_INFO":
    case "ERR_UPDATER_INVALID_VERSION":
    case "ERR_UPDATER_INVALID_RELEASE_FEED":
      return failed("the update information on the server is damaged.");
  }
  const status = HTTP_STATUS.exec(message);
  if (status) return failed(`the update server answered ${status[1] ?? status[2] ?? status[3]}.`);
  return failed(message.split("\n")[0]!.trim());
}

/**
 * One check. Never throws: every outcome is a status. When the update downloads right away, a
 * failed download is reported through `onDownloadFailed` (a finished one through electron-updater's
 * `update-downloaded` event).
 */
export async function checkForUpdate(
  updater: UpdaterLike,
  onDownloadFailed: (status: UpdateStatus) => void = () => {},
): Promise<UpdateStatus> {
  const current = updater.currentVersion.version;
  try {
    const result = await updater.checkForUpdates();
    if (!result) return { state: "off", message: "Updates are off in this build." };
    const latest = result.updateInfo.version;
    result.downloadPromise?.catch((error: unknown) =>
      onDownloadFailed(describeUpdateError(error, `Duet ${latest} could not be downloaded`)),
    );
    if (result.isUpdateAvailable)
      return {
        state: "available",
        version: latest,
        message: `Duet ${latest} is available (you have ${current}); it is downloaded in the background and installed when you quit.`,
      };
    return { state: "up-to-date", version: current, message: `Duet ${current} is up to date.` };
  } catch (error) {
    return describeUpdateError(error);
  }
}

/** `{ owner, repo }` of a GitHub URL (package.json's homepage), for the `publish` setting. */
export function githubRepository(url: string): { owner: string; repo: string } {
  const match = /^https:\/\/github\.com\/([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(url);
  if (!match) throw new Error(`${url} is not a GitHub repository URL.`);
  return { owner: match[1]!, repo: match[2]! };
}
