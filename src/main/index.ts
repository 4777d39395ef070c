/**
 * Duet's Electron main process: one window, the typed IPC router, the global hold-to-talk
 * hotkey, and the AppHost that owns settings, models and the engine process.
 */
import { app, dialog, ipcMain, MessageChannelMain, type MessagePortMain } from "electron";
import type * as UiohookModule from "uiohook-napi";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { duetDataDir, modelsDir } from "../engine/paths.js";
import { environmentOverrides } from "../engine/settings/overrides.js";
import { AppHost } from "./host/appHost.js";
import { HoldToTalk, parseAccelerator } from "./host/hotkey.js";
import { UtilityProcessLauncher } from "./electronLauncher.js";
import { batchEvents } from "./ipc/batchEvents.js";
import type { AppEvent, AudioChunk } from "../shared/ipc/contract.js";
import { PORT_IPC_CHANNEL, type PortMessageToWindow } from "../shared/ipc/wire.js";
import { isAudioFrame } from "./ipc/audioFrames.js";
import { registerRequests, senderCheck, type IpcMainLike } from "./ipc/router.js";
import { createMainWindow, type AppWindow } from "./window.js";

const outDir = join(fileURLToPath(new URL(".", import.meta.url)), "..");

if (!app.requestSingleInstanceLock()) app.quit();

let appWindow: AppWindow | undefined;
let port: MessagePortMain | undefined;
/** Reads the hotkey from the settings again; set once the global hotkey is running. */
let reloadHotkey: (() => void) | undefined;

function toWindow(message: PortMessageToWindow): void {
  port?.postMessage(message);
}

/** Events go to the window in batches (tokens arrive dozens a second); audio goes at once. */
const sendEvents = batchEvents<AppEvent>((events) => toWindow({ kind: "events", events }));
function emit(event: AppEvent): void {
  if (event.type === "settings") reloadHotkey?.();
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

const host = new AppHost({
  dataDir: duetDataDir(),
  modelsDir: modelsDir(),
  launcher: new UtilityProcessLauncher(join(outDir, "main", "engineWorker.js"), "Duet engine"),
  probeLauncher: new UtilityProcessLauncher(join(outDir, "main", "hardwareProbe.js"), "Duet hardware check"),
  overrides: safeEnvironmentOverrides(),
  emit,
  emitAudio,
});

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
  const hold = new HoldToTalk(parseAccelerator(host.snapshot().settings.hotkey.pushToTalk), (down) => {
    emit({ type: "hotkey", down });
    try {
      host.handlers["session:push-to-talk"]({ down });
    } catch (error) {
      emit({ type: "error", stage: "audio", message: (error as Error).message });
    }
  });
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
  appWindow = createMainWindow({
    outDir,
    // Set by `npm run dev` (electron-vite): the window is served with hot reload.
    devServerUrl: app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL,
    devTools: !app.isPackaged,
  });
  appWindow.window.webContents.on("did-finish-load", () => {
    openPort();
    for (const message of startupProblems) emit({ type: "error", stage: "settings", message });
  });
  await startHotkey();
}

void app
  .whenReady()
  .then(start)
  .catch((error: unknown) => {
    dialog.showErrorBox("Duet could not start", error instanceof Error ? error.message : String(error));
    app.quit();
  });

app.on("second-instance", () => {
  if (appWindow?.window.isMinimized()) appWindow.window.restore();
  appWindow?.window.focus();
});

app.on("window-all-closed", () => {
  host.dispose();
  app.quit();
});
