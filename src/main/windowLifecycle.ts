/**
 * When the window comes and goes, and when the app quits. On macOS, closing the window leaves Duet
 * running (in the dock and the tray) and clicking the dock icon (`activate`) opens it again;
 * elsewhere closing the window quits. A second launch shows the running app's window.
 */
export interface LifecycleAppLike {
  on(
    event: "window-all-closed" | "activate" | "second-instance" | "will-quit",
    listener: () => void,
  ): unknown;
  quit(): void;
}

export interface WindowLifecycleOptions {
  app: LifecycleAppLike;
  platform: NodeJS.Platform;
  /** Whether a window is open now. */
  hasWindow(): boolean;
  /** Opens a new window. */
  openWindow(): void;
  /** Brings the open window to the front (restoring it if minimised). */
  focusWindow(): void;
  /** Last work before the process exits (stop the engine process, close the log). */
  onQuit(): void;
}

export function manageWindowLifecycle(options: WindowLifecycleOptions): void {
  const { app } = options;
  const show = (): void => (options.hasWindow() ? options.focusWindow() : options.openWindow());
  app.on("window-all-closed", () => {
    if (options.platform !== "darwin") app.quit();
  });
  app.on("activate", () => {
    if (!options.hasWindow()) options.openWindow();
  });
  app.on("second-instance", show);
  let quitting = false;
  app.on("will-quit", () => {
    if (quitting) return;
    quitting = true;
    options.onQuit();
  });
}
