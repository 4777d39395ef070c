/**
 * The tray icon: what Duet is doing (listening, thinking, speaking) at a glance, with
 * push-to-talk, the window, the update status and quit in its menu. Electron's Tray and Menu are
 * injected, so the behaviour is tested without Electron.
 */
import type { MenuItemConstructorOptions } from "electron";
import type { SessionState } from "../../shared/ipc/contract.js";
import type { UpdateStatus } from "../updates/updateCheck.js";

export type TrayIconFiles = Readonly<Record<SessionState, string>>;

/** The parts of Electron's Tray the icon uses; `image` is whatever `loadIcon` returned. */
export interface TrayLike<Image> {
  setImage(image: Image): void;
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  on(event: "click", listener: () => void): unknown;
  destroy(): void;
}

export interface TrayDeps<Image> {
  files: TrayIconFiles;
  /** Reads an icon file at the platform's tray size. */
  loadIcon(path: string): Image;
  createTray(image: Image): TrayLike<Image>;
  /** Electron's Menu.buildFromTemplate. */
  buildMenu(template: MenuItemConstructorOptions[]): unknown;
  /** macOS opens the menu on click by itself; elsewhere a click shows the window. */
  platform: NodeJS.Platform;
}

export interface TrayActions {
  /** Shows the window (opening it again if it was closed). */
  showWindow(): void;
  /** Whether the window is open (it captures the microphone, so talking needs it). */
  hasWindow(): boolean;
  pushToTalk(down: boolean): void;
  openLogsFolder(): void;
  quit(): void;
}

const STATE_WORDS: Readonly<Record<SessionState, string>> = {
  idle: "Ready",
  listening: "Listening…",
  thinking: "Thinking…",
  speaking: "Speaking…",
};

export class DuetTray<Image> {
  private readonly tray: TrayLike<Image>;
  private readonly icons: Record<SessionState, Image>;
  private state: SessionState = "idle";
  private update: UpdateStatus | undefined;
  /** Set while push-to-talk was pressed from this menu (released from it too). */
  private talking = false;

  constructor(
    private readonly deps: TrayDeps<Image>,
    private readonly actions: TrayActions,
  ) {
    this.icons = {
      idle: deps.loadIcon(deps.files.idle),
      listening: deps.loadIcon(deps.files.listening),
      thinking: deps.loadIcon(deps.files.thinking),
      speaking: deps.loadIcon(deps.files.speaking),
    };
    this.tray = deps.createTray(this.icons.idle);
    if (deps.platform !== "darwin") this.tray.on("click", () => actions.showWindow());
    this.render();
  }

  /** The session's state, from the events the window is sent. */
  setState(state: SessionState): void {
    if (state === this.state) return;
    this.state = state;
    if (state !== "listening") this.talking = false;
    this.render();
  }

  setUpdateStatus(status: UpdateStatus): void {
    this.update = status;
    this.render();
  }

  /** Draws the menu again (the window opened or closed: the talk item depends on it). */
  refresh(): void {
    this.render();
  }

  destroy(): void {
    this.tray.destroy();
  }

  /** The menu as data (what `render` hands to Electron). */
  menuTemplate(): MenuItemConstructorOptions[] {
    const talkItem: MenuItemConstructorOptions = !this.actions.hasWindow()
      ? { label: "Open Duet to Talk", click: () => this.actions.showWindow() }
      : this.talking
        ? { label: "Stop Talking", click: () => this.talk(false) }
        : { label: "Start Talking", click: () => this.talk(true), enabled: this.state !== "listening" };
    return [
      { label: `Duet: ${STATE_WORDS[this.state]}`, enabled: false },
      ...(this.update && this.update.state !== "off"
        ? [{ label: this.update.message, enabled: false } satisfies MenuItemConstructorOptions]
        : []),
      { type: "separator" },
      talkItem,
      { label: "Show Duet", click: () => this.actions.showWindow() },
      { label: "Open Logs Folder", click: () => this.actions.openLogsFolder() },
      { type: "separator" },
      { label: "Quit Duet", click: () => this.actions.quit() },
    ];
  }

  private talk(down: boolean): void {
    this.talking = down;
    this.actions.pushToTalk(down);
    this.render();
  }

  private render(): void {
    this.tray.setImage(this.icons[this.state]);
    this.tray.setToolTip(`Duet: ${STATE_WORDS[this.state]}`);
    this.tray.setContextMenu(this.deps.buildMenu(this.menuTemplate()));
  }
}
