/**
 * Duet's Electron main process: one window, the typed IPC router, the global hold-to-talk
 * hotkey, and the AppHost that owns settings, models and the engine process. Each shipping
 * concern (folders and crash dumps, the log, the menu, the tray, updates, the window's lifecycle)
 * lives in its own module (docs/shipping.md); this file wires them together.
 */
import {
  app,
  crashReporter,
  dialog,
  ipcMain,
  Menu,
  MessageChannelMain,
  nativeImage,
  shell,
  Tray,
  utilityProcess,
  type MessagePortMain,
} from "electron";
import type * as UiohookModule from "uiohook-napi";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelsDir } from "../engine/paths.js";
import { environmentOverrides } from "../engine/settings/overrides.js";
import { appFolders, placeAppFolders, startLocalCrashDumps } from "./appFolders.js";
import { AppHost, type AppHostDialogs } from "./host/appHost.js";
import { HoldToTalk, parseAccelerator } from "./host/hotkey.js";
import { UtilityProcessLauncher, type UtilityProcessLauncherOptions } from "./electronLauncher.js";
import { batchEvents } from "./ipc/batchEvents.js";
import type { AppEvent, AudioChunk } from "../shared/ipc/contract.js";
import { PORT_IPC_CHANNEL, type PortMessageToWindow } from "../shared/ipc/wire.js";
import { isAudioFrame } from "./ipc/audioFrames.js";
import { registerRequests, senderCheck, type IpcMainLike } from "./ipc/router.js";
import { logUncaught, openAppLog } from "./logging/appLog.js";
import { appMenuTemplate } from "./menu.js";
import { TRAY_ICON_FILES } from "./tray/iconFiles.js";
import { DuetTray } from "./tray/tray.js";
import { startUpdateService, type AutoUpdaterLike } from "./updates/autoUpdate.js";
import { createMainWindow, type AppWindow } from "./window.js";
import { manageWindowLifecycle } from "./windowLifecycle.js";

const outDir = join(fileURLToPath(new URL(".", import.meta.url)), "..");

// One folder for everything, set before the single-instance lock and the crash reporter use it.
const folders = appFolders();
placeAppFolders(app, folders);
startLocalCrashDumps(crashReporter);
const log = openAppLog(folders.logs, { echo: !app.isPackaged });
logUncaught(log);
log.write(
  "main",
  "info",
  `Duet ${app.getVersion()} starting (Electron ${process.versions.electron}, ${process.platform})`,
);

if (!app.requestSingleInstanceLock()) app.quit();

let appWindow: AppWindow | undefined;
let port: MessagePortMain | undefined;
let tray: DuetTray<Electron.NativeImage> | undefined;
/** Reads the hotkey from the settings again; set once the global hotkey is running. */
let reloadHotkey: (() => void) | undefined;

function toWindow(message: PortMessageToWindow): void {
  port?.postMessage(message);
}

/** Events go to the window in batches (tokens arrive dozens a second); audio goes at once. */
const sendEvents = batchEvents<AppEvent>((events) => toWindow({ kind: "events", events }));
function emit(event: AppEvent): void {
  log.event(event);
  if (event.type === "settings") reloadHotkey?.();
  if (event.type === "state") tray?.setState(event.state);
  sendEvents(event);
}

function emitAudio(chunk: AudioChunk): void {
  toWindow({ kind: "audio", chunk });
}

/** A bad DUET_MIRROR is reported in the window instead of stopping the app. */
function safeEnvironmentOverrides(): ReturnType<typeof environmentOverrides> {
  try {
    return environmentOverrides();
  } catch (error) {
    startupProblems.push((error as Error).message);
    return {};
  }
}
const startupProblems: string[] = [];

async function openLogsFolder(): Promise<{ path: string }> {
  await mkdir(folders.logs, { recursive: true });
  const failure = await shell.openPath(folders.logs);
  if (failure) throw new Error(`The logs folder ${folders.logs} could not be opened: ${failure}`);
  return { path: folders.logs };
}

/** From the menu and the tray, where there is no window to show an error in: it is logged. */
function openLogsFolderFromMenu(): void {
  openLogsFolder().catch((error: Error) => log.write("main", "error", error.message));
}

/** Utility processes print into the log (native libraries' lines included). */
const utilityOutput: UtilityProcessLauncherOptions = {
  fork: (modulePath, args, options) => utilityProcess.fork(modulePath, args, options),
  onOutput: (line, stream) => log.engineOutput(line, stream),
};

/** The system's file dialogs, over the window when there is one. */
const dialogs: AppHostDialogs = {
  async chooseModelFile() {
    const options: Electron.OpenDialogOptions = {
      title: "Choose a model file",
      properties: ["openFile"],
      filters: [
        { name: "Models (GGUF, whisper)", extensions: ["gguf", "bin"] },
        { name: "All files", extensions: ["*"] },
      ],
    };
    const result = appWindow
      ? await dialog.showOpenDialog(appWindow.window, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  },
  async chooseExportFile(suggestedName) {
    const options: Electron.SaveDialogOptions = {
      title: "Export the conversation",
      defaultPath: join(app.getPath("documents"), suggestedName),
      filters: [{ name: "Markdown", extensions: ["md"] }],
    };
    const result = appWindow
      ? await dialog.showSaveDialog(appWindow.window, options)
      : await dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  },
};

const host = new AppHost({
  dataDir: folders.data,
  modelsDir: modelsDir(),
  launcher: new UtilityProcessLauncher(join(outDir, "main", "engineWorker.js"), "Duet engine", utilityOutput),
  probeLauncher: new UtilityProcessLauncher(
    join(outDir, "main", "hardwareProbe.js"),
    "Duet hardware check",
    utilityOutput,
  ),
  overrides: safeEnvironmentOverrides(),
  emit,
  emitAudio,
  openLogsFolder,
  dialogs,
});

/** Push-to-talk from the hotkey or the tray: the window captures the microphone, the engine listens. */
function pushToTalk(down: boolean): void {
  emit({ type: "hotkey", down });
  try {
    host.handlers["session:push-to-talk"]({ down });
  } catch (error) {
    emit({ type: "error", stage: "audio", message: (error as Error).message });
  }
}

function openPort(): void {
  if (!appWindow) return;
  const channel = new MessageChannelMain();
  port?.close();
  port = channel.port1;
  port.on("message", (message) => {
    const data = message.data as { kind?: string; samples?: unknown };
    if (data?.kind === "audio" && isAudioFrame(data.samples)) host.audio(data.samples);
  });
  port.start();
  appWindow.window.webContents.postMessage(PORT_IPC_CHANNEL, null, [channel.port2]);
}

function openWindow(): void {
  const opened = createMainWindow({
    outDir,
    // Set by `npm run dev` (electron-vite): the window is served with hot reload.
    devServerUrl: app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL,
    devTools: !app.isPackaged,
  });
  appWindow = opened;
  opened.window.webContents.on("did-finish-load", () => {
    openPort();
    for (const message of startupProblems) emit({ type: "error", stage: "settings", message });
  });
  opened.window.on("closed", () => {
    if (appWindow !== opened) return;
    appWindow = undefined;
    port?.close();
    port = undefined;
    tray?.refresh();
  });
  tray?.refresh();
}

function showWindow(): void {
  if (!appWindow) return openWindow();
  if (appWindow.window.isMinimized()) appWindow.window.restore();
  appWindow.window.show();
  appWindow.window.focus();
}

async function startHotkey(): Promise<void> {
  let hook: typeof UiohookModule | undefined;
  try {
    hook = await import("uiohook-napi");
  } catch (error) {
    emit({
      type: "error",
      stage: "audio",
      message: `The global hotkey is unavailable (${(error as Error).message}); use the on-screen button.`,
    });
    return;
  }
  const names = new Map<number, string>(
    Object.entries(hook.UiohookKey).map(([name, code]) => [code as number, name]),
  );
  const hold = new HoldToTalk(parseAccelerator(host.snapshot().settings.hotkey.pushToTalk), pushToTalk);
  hook.uIOhook.on("keydown", (e) => hold.keyDown(names.get(e.keycode) ?? String(e.keycode)));
  hook.uIOhook.on("keyup", (e) => hold.keyUp(names.get(e.keycode) ?? String(e.keycode)));
  try {
    hook.uIOhook.start();
  } catch (error) {
    emit({
      type: "error",
      stage: "audio",
      message: `The global hotkey could not start (${(error as Error).message}); use the on-screen button.`,
    });
  }
  reloadHotkey = () => {
    try {
      hold.setHotkey(parseAccelerator(host.snapshot().settings.hotkey.pushToTalk));
    } catch (error) {
      emit({ type: "error", stage: "audio", message: (error as Error).message });
    }
  };
  app.on("will-quit", () => hook?.uIOhook.stop());
}

/** The menu bar and the tray icon. */
function startShell(): void {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      appMenuTemplate({
        development: !app.isPackaged,
        platform: process.platform,
        openLogsFolder: openLogsFolderFromMenu,
      }),
    ),
  );
  const traySize = process.platform === "linux" ? 22 : 16;
  tray = new DuetTray(
    {
      files: TRAY_ICON_FILES,
      loadIcon: (path) => nativeImage.createFromPath(path).resize({ width: traySize, quality: "best" }),
      createTray: (image) => new Tray(image),
      buildMenu: (template) => Menu.buildFromTemplate(template),
      platform: process.platform,
    },
    {
      showWindow,
      hasWindow: () => appWindow !== undefined,
      pushToTalk,
      openLogsFolder: openLogsFolderFromMenu,
      quit: () => app.quit(),
    },
  );
}

/** Starts Duet: settings first (the window asks for them at once), then the window and the hotkey. */
async function start(): Promise<void> {
  // Never fails on settings: a damaged or unwritable settings file becomes a notice in the window.
  await host.init();
  registerRequests(
    ipcMain as unknown as IpcMainLike,
    host.handlers,
    senderCheck(
      () => appWindow?.window.webContents,
      () => appWindow?.origin,
    ),
  );
  startShell();
  openWindow();
  await startHotkey();
  startUpdateService({
    packaged: app.isPackaged,
    // electron-updater is CommonJS; its `autoUpdater` picks the updater for this platform and package.
    loadUpdater: async () =>
      (await import("electron-updater")).default.autoUpdater as unknown as AutoUpdaterLike,
    log: (level, text) => log.write("updater", level, text),
    onStatus: (status) => tray?.setUpdateStatus(status),
  });
}

void app
  .whenReady()
  .then(start)
  .catch((error: unknown) => {
    log.write("main", "error", `Duet could not start: ${String(error)}`);
    dialog.showErrorBox("Duet could not start", error instanceof Error ? error.message : String(error));
    app.quit();
  });

manageWindowLifecycle({
  app,
  platform: process.platform,
  hasWindow: () => appWindow !== undefined,
  openWindow: () => {
    if (app.isReady()) openWindow();
  },
  focusWindow: showWindow,
  onQuit: () => {
    log.write("main", "info", "Duet quitting");
    tray?.destroy();
    // A turn's end is saved at once; this starts the save of one still under way.
    void host.flush();
    host.dispose();
    log.file.close();
  },
});
