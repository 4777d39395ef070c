/**
 * The application menu. A packaged app has no DevTools and no reload (the window is the app, not a
 * web page); `npm run dev` adds both. Built as data so it can be checked without Electron.
 */
import type { MenuItemConstructorOptions } from "electron";

export interface AppMenuOptions {
  /** Development (`npm run dev` or an unpacked run): reload and DevTools. */
  development: boolean;
  platform: NodeJS.Platform;
  openLogsFolder: () => void;
}

export function appMenuTemplate({
  development,
  platform,
  openLogsFolder,
}: AppMenuOptions): MenuItemConstructorOptions[] {
  const mac = platform === "darwin";
  const developer: MenuItemConstructorOptions[] = development
    ? [{ type: "separator" }, { role: "reload" }, { role: "forceReload" }, { role: "toggleDevTools" }]
    : [];
  return [
    ...(mac
      ? [
          {
            label: "Duet",
            submenu: [
              { role: "about" },
              { type: "separator" },
              { role: "hide" },
              { role: "hideOthers" },
              { role: "unhide" },
              { type: "separator" },
              { role: "quit" },
            ],
          } satisfies MenuItemConstructorOptions,
        ]
      : [{ label: "File", submenu: [{ role: "quit" }] } satisfies MenuItemConstructorOptions]),
    // Copy and paste in the question box (on macOS they only work through the menu's roles).
    {
      label: "Edit",
      submenu: [
        { role: "undo" },
        { role: "redo" },
        { type: "separator" },
        { role: "cut" },
        { role: "copy" },
        { role: "paste" },
        { role: "selectAll" },
      ],
    },
    {
      label: "View",
      submenu: [
        { role: "resetZoom" },
        { role: "zoomIn" },
        { role: "zoomOut" },
        { type: "separator" },
        { role: "togglefullscreen" },
        ...developer,
      ],
    },
    {
      label: "Window",
      submenu: mac
        ? [{ role: "minimize" }, { role: "zoom" }, { type: "separator" }, { role: "front" }]
        : [{ role: "minimize" }, { role: "close" }],
    },
    {
      label: "Help",
      submenu: [{ label: "Open Logs Folder", click: () => openLogsFolder() }],
    },
  ];
}
