/** The desktop shell's pieces, with Electron replaced at its boundary by small fakes. */
import { EventEmitter } from "node:events";
import type { MenuItemConstructorOptions } from "electron";
import { describe, expect, it } from "vitest";
import { appFolders, placeAppFolders, startLocalCrashDumps } from "../../src/main/appFolders.js";
import { appMenuTemplate } from "../../src/main/menu.js";
import { DuetTray, type TrayLike } from "../../src/main/tray/tray.js";
import { manageWindowLifecycle } from "../../src/main/windowLifecycle.js";

/** Every role and label in a menu template, submenus included. */
function items(template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.flatMap((item) => [
    item,
    ...(Array.isArray(item.submenu) ? items(item.submenu as MenuItemConstructorOptions[]) : []),
  ]);
}

describe("one data folder", () => {
  it("puts Electron's data, the logs and the crash dumps inside Duet's data folder", () => {
    const folders = appFolders("/home/ann/.local/share/duet");
    expect(folders).toEqual({
      data: "/home/ann/.local/share/duet",
      logs: "/home/ann/.local/share/duet/logs",
      crashDumps: "/home/ann/.local/share/duet/crash-dumps",
      electron: "/home/ann/.local/share/duet/electron",
    });
    const calls: string[] = [];
    placeAppFolders(
      {
        setPath: (name, path) => calls.push(`${name}=${path}`),
        setAppLogsPath: (path) => calls.push(`logs=${path}`),
      },
      folders,
    );
    expect(calls).toEqual([
      "userData=/home/ann/.local/share/duet/electron",
      "sessionData=/home/ann/.local/share/duet/electron",
      "crashDumps=/home/ann/.local/share/duet/crash-dumps",
      "logs=/home/ann/.local/share/duet/logs",
    ]);
    const started: unknown[] = [];
    startLocalCrashDumps({ start: (options) => started.push(options) });
    expect(started).toEqual([{ uploadToServer: false, compress: true }]);
  });
});

describe("the application menu", () => {
  const roles = (development: boolean, platform: NodeJS.Platform) =>
    items(appMenuTemplate({ development, platform, openLogsFolder: () => {} })).map((i) => i.role ?? i.label);

  it("has no DevTools and no reload in a packaged app, on any platform", () => {
    for (const platform of ["darwin", "win32", "linux"] as const) {
      const production = roles(false, platform);
      expect(production).toContain("copy");
      expect(production).toContain("quit");
      for (const devOnly of ["toggleDevTools", "reload", "forceReload"])
        expect(production).not.toContain(devOnly);
      expect(roles(true, platform)).toEqual(expect.arrayContaining(["toggleDevTools", "reload"]));
    }
    expect(roles(false, "darwin")).toContain("hideOthers");
    expect(roles(false, "linux")).not.toContain("hideOthers");
  });

  it("opens the logs folder from Help", () => {
    let opened = 0;
    const help = items(
      appMenuTemplate({ development: false, platform: "linux", openLogsFolder: () => opened++ }),
    ).find((i) => i.label === "Open Logs Folder")!;
    (help.click as () => void)();
    expect(opened).toBe(1);
  });
});

class FakeTray implements TrayLike<string> {
  image = "";
  tooltip = "";
  menu: MenuItemConstructorOptions[] = [];
  clicks: Array<() => void> = [];
  destroyed = false;
  setImage(image: string) {
    this.image = image;
  }
  setToolTip(text: string) {
    this.tooltip = text;
  }
  setContextMenu(menu: unknown) {
    this.menu = menu as MenuItemConstructorOptions[];
  }
  on(_event: "click", listener: () => void) {
    this.clicks.push(listener);
  }
  destroy() {
    this.destroyed = true;
  }
}

function trayWithFakes(platform: NodeJS.Platform = "linux") {
  const fake = new FakeTray();
  const calls: string[] = [];
  let window = true;
  const tray = new DuetTray<string>(
    {
      files: {
        idle: "idle.png",
        listening: "listening.png",
        thinking: "thinking.png",
        speaking: "speaking.png",
      },
      loadIcon: (path) => `image of ${path}`,
      createTray: (image) => ((fake.image = image), fake),
      buildMenu: (template) => template,
      platform,
    },
    {
      showWindow: () => calls.push("show"),
      hasWindow: () => window,
      pushToTalk: (down) => calls.push(down ? "talk" : "stop talking"),
      openLogsFolder: () => calls.push("logs"),
      quit: () => calls.push("quit"),
    },
  );
  const click = (label: string) => {
    const item = fake.menu.find((i) => i.label === label);
    expect(item, `menu item ${label}`).toBeDefined();
    (item!.click as () => void)();
  };
  return { fake, tray, calls, click, closeWindow: () => (window = false) };
}

describe("the tray icon", () => {
  it("shows listening, thinking and speaking in its icon and tooltip", () => {
    const { fake, tray } = trayWithFakes();
    expect(fake.image).toBe("image of idle.png");
    expect(fake.tooltip).toBe("Duet: Ready");
    for (const [state, words] of [
      ["listening", "Listening…"],
      ["thinking", "Thinking…"],
      ["speaking", "Speaking…"],
    ] as const) {
      tray.setState(state);
      expect(fake.image).toBe(`image of ${state}.png`);
      expect(fake.tooltip).toBe(`Duet: ${words}`);
      expect(fake.menu[0]).toMatchObject({ label: `Duet: ${words}`, enabled: false });
    }
  });

  it("talks from its menu (press, then release), shows the window, opens the logs and quits", () => {
    const { tray, calls, click, fake, closeWindow } = trayWithFakes();
    click("Start Talking");
    tray.setState("listening");
    click("Stop Talking");
    tray.setState("thinking");
    click("Show Duet");
    click("Open Logs Folder");
    click("Quit Duet");
    expect(calls).toEqual(["talk", "stop talking", "show", "logs", "quit"]);
    // The microphone is captured by the window: with the window closed, the item opens it.
    closeWindow();
    tray.refresh();
    click("Open Duet to Talk");
    expect(calls.at(-1)).toBe("show");
    // A click on the icon shows the window (macOS opens the menu instead).
    fake.clicks.forEach((c) => c());
    expect(calls.at(-1)).toBe("show");
    expect(trayWithFakes("darwin").fake.clicks).toHaveLength(0);
  });

  it("says where updates stand", () => {
    const { tray, fake } = trayWithFakes();
    tray.setUpdateStatus({ state: "off", message: "Updates are off in development." });
    expect(fake.menu.some((i) => i.label?.includes("Updates are off"))).toBe(false);
    tray.setUpdateStatus({
      state: "downloaded",
      version: "0.2.0",
      message: "Duet 0.2.0 is ready: it will be installed when you quit.",
    });
    expect(fake.menu[1]).toEqual({
      label: "Duet 0.2.0 is ready: it will be installed when you quit.",
      enabled: false,
    });
    tray.destroy();
    expect(fake.destroyed).toBe(true);
  });
});

/** Electron's `app` as the lifecycle sees it: events, and quit() which ends in will-quit. */
class FakeApp extends EventEmitter {
  quits = 0;
  quit() {
    this.quits++;
    this.emit("will-quit");
  }
}

function lifecycle(platform: NodeJS.Platform) {
  const app = new FakeApp();
  const calls: string[] = [];
  let windows = 1;
  manageWindowLifecycle({
    app: app as never,
    platform,
    hasWindow: () => windows > 0,
    openWindow: () => (windows++, calls.push("open")),
    focusWindow: () => calls.push("focus"),
    onQuit: () => calls.push("quit work"),
  });
  return { app, calls, closeAll: () => ((windows = 0), app.emit("window-all-closed")) };
}

describe("the window's lifecycle", () => {
  it("on macOS, closing the window keeps Duet running and the dock icon opens it again", () => {
    const { app, calls, closeAll } = lifecycle("darwin");
    closeAll();
    expect(app.quits).toBe(0);
    app.emit("activate");
    expect(calls).toEqual(["open"]);
    app.emit("activate"); // a window is open: nothing more
    expect(calls).toEqual(["open"]);
    app.quit(); // Cmd+Q
    expect(calls).toEqual(["open", "quit work"]);
  });

  it("elsewhere, closing the window quits, once; a second launch shows the window", () => {
    const { app, calls, closeAll } = lifecycle("win32");
    app.emit("second-instance");
    expect(calls).toEqual(["focus"]);
    closeAll();
    expect(app.quits).toBe(1);
    app.emit("will-quit");
    expect(calls).toEqual(["focus", "quit work"]);
    app.emit("second-instance"); // no window left: it opens one
    expect(calls.at(-1)).toBe("open");
  });
});
