import { BrowserWindow, type WebContents } from "electron";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CONTENT_SECURITY_POLICY, devContentSecurityPolicy } from "./security.js";

export interface AppWindow {
  window: BrowserWindow;
  /** The URL the renderer is served from; IPC from any other origin is refused. */
  origin: string;
}

export interface MainWindowOptions {
  /** The build folder (out/), holding the preload and the window's files. */
  outDir: string;
  /** Vite's dev server (`npm run dev` only); the window's files otherwise. */
  devServerUrl?: string | undefined;
  /** DevTools are for development; a packaged app has none. */
  devTools: boolean;
}

export function createMainWindow({ outDir, devServerUrl, devTools }: MainWindowOptions): AppWindow {
  const window = new BrowserWindow({
    width: 1180,
    height: 820,
    minWidth: 720,
    minHeight: 520,
    title: "Duet",
    backgroundColor: "#101418",
    show: false,
    webPreferences: {
      preload: join(outDir, "preload", "index.cjs"),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      spellcheck: false,
      devTools,
      // Middle-click can open links even when left-click navigation is blocked.
      disableBlinkFeatures: "Auxclick",
    },
  });
  const page = devServerUrl ?? pathToFileURL(join(outDir, "renderer", "index.html")).toString();
  hardenContents(window.webContents, page, devServerUrl);
  window.once("ready-to-show", () => window.show());
  void window.loadURL(page);
  return { window, origin: page };
}

/** No navigation, no new windows, no permissions but the microphone, no remote content. */
function hardenContents(contents: WebContents, page: string, devServerUrl: string | undefined): void {
  const policy = devServerUrl ? devContentSecurityPolicy(devServerUrl) : CONTENT_SECURITY_POLICY;
  const devHost = devServerUrl ? new URL(devServerUrl).host : undefined;
  const fromDevServer = (url: string): boolean => {
    const parsed = new URL(url);
    return parsed.host === devHost && (parsed.protocol === "http:" || parsed.protocol === "ws:");
  };
  contents.on("will-navigate", (event, url) => {
    if (url !== page) event.preventDefault();
  });
  contents.on("will-redirect", (event) => event.preventDefault());
  // The window shows no web links, so nothing may open a window or hand a URL to the OS.
  contents.setWindowOpenHandler(() => ({ action: "deny" }));
  contents.on("will-attach-webview", (event) => event.preventDefault());
  const ses = contents.session;
  ses.setPermissionRequestHandler((webContents, permission, callback) => {
    callback(webContents === contents && permission === "media");
  });
  ses.setPermissionCheckHandler(
    (webContents, permission) => webContents === contents && permission === "media",
  );
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, "Content-Security-Policy": [policy] },
    });
  });
  // Block anything that is not the app's own files.
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed =
      details.url.startsWith("file://") ||
      details.url.startsWith("devtools://") ||
      details.url.startsWith("blob:") ||
      details.url.startsWith("data:") ||
      (devHost !== undefined && fromDevServer(details.url));
    callback({ cancel: !allowed });
  });
}
