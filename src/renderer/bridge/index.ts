import type { DuetBridge } from "../../shared/ipc/contract.js";
import { createWebSocketBridge } from "./wsBridge.js";

declare global {
  interface Window {
    duet?: DuetBridge;
  }
}

let bridge: DuetBridge | undefined;

/** The preload's bridge in Electron; in a browser, the dev harness's socket (`?harness=ws://…`). */
export function getBridge(): DuetBridge {
  if (bridge) return bridge;
  if (window.duet) return (bridge = window.duet);
  const harness = new URLSearchParams(location.search).get("harness") ?? `ws://${location.host}/bridge`;
  return (bridge = createWebSocketBridge(harness));
}
