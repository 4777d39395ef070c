/**
 * Entry point of the hardware probe: a short-lived process that starts each GPU backend, reports
 * what it found and exits. Probing loads native GPU libraries, and a driver fault there must not
 * end the app, so it never runs in the main process. Nothing here imports Electron.
 */
import { detectHardware } from "../../engine/llama/hardware.js";
import type { ProbeReply } from "./probeProtocol.js";

interface ParentPort {
  postMessage(message: unknown): void;
}
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function send(message: ProbeReply): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

try {
  send({ type: "hardware", info: await detectHardware() });
} catch (error) {
  send({ type: "error", message: error instanceof Error ? error.message : String(error) });
}
// Let the message go out, then leave: the probe holds GPU contexts the app has no use for.
setTimeout(() => process.exit(0), 50);
