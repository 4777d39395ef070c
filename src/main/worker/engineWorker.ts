/**
 * Entry point of the engine process. Under Electron it is a utility process and talks through
 * `process.parentPort`; under plain Node (the dev harness, tests) it is a forked child and talks
 * through `process.send`. Nothing here imports Electron.
 */
import { nativeLogToStderr, setNativeLogSink } from "../../engine/nativeLog.js";
import { EngineService } from "./engineService.js";
import type { FromWorker, ToWorker } from "./protocol.js";

interface ParentPort {
  on(event: "message", listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

/** A fork with JSON serialization would turn Float32Arrays into objects; accept plain arrays too. */
const revive = (message: ToWorker): ToWorker =>
  message.type === "audio" && !(message.samples instanceof Float32Array)
    ? {
        ...message,
        samples: Float32Array.from(Object.values(message.samples as unknown as Record<string, number>)),
      }
    : message;

// Forked children must use `serialization: "advanced"` so typed arrays travel as they are.
function send(message: FromWorker): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

// llama.cpp's and whisper.cpp's own lines go to stderr, which the app pipes into its log file
// (src/main/electronLauncher.ts); the harness shows them in its terminal.
setNativeLogSink(nativeLogToStderr);

const service = new EngineService(send);
// Messages are handled one after another, in order.
let queue: Promise<void> = Promise.resolve();
const receive = (raw: unknown) => {
  const message = revive(raw as ToWorker);
  // Audio and playback reports must not wait behind a long request such as loading the model.
  if (message.type === "audio" || message.type === "playback" || message.type === "stop") {
    void service.handle(message);
    return;
  }
  queue = queue.then(() => service.handle(message));
};

if (parentPort) parentPort.on("message", (event) => receive(event.data));
else process.on("message", receive);

process.on("disconnect", () => {
  void service.dispose().finally(() => process.exit(0));
});
