/// <reference types="electron-vite/node" />
/**
 * The tray icons (drawn by build/makeTrayIcons.mjs), copied into the build by electron-vite.
 * Kept apart from tray.ts, which tests load without electron-vite.
 */
import idle from "../../../assets/tray/idle.png?asset";
import listening from "../../../assets/tray/listening.png?asset";
import speaking from "../../../assets/tray/speaking.png?asset";
import thinking from "../../../assets/tray/thinking.png?asset";
import type { TrayIconFiles } from "./tray.js";

export const TRAY_ICON_FILES: TrayIconFiles = { idle, listening, thinking, speaking };
