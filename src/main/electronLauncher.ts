import { utilityProcess } from "electron";
import type { WorkerHandle, WorkerLauncher } from "./host/engineHost.js";
import type { FromWorker, ToWorker } from "./worker/protocol.js";

/** Runs the engine in an Electron utility process, so a crash or a long native call never freezes the window. */
export class UtilityProcessLauncher implements WorkerLauncher {
  constructor(private readonly entry: string) {}

  launch(): WorkerHandle {
    const child = utilityProcess.fork(this.entry, [], { serviceName: "Duet engine", stdio: "inherit" });
    return {
      post: (message: ToWorker) => child.postMessage(message),
      onMessage: (listener) => child.on("message", (message: unknown) => listener(message as FromWorker)),
      onExit: (listener) => child.on("exit", (code: number) => listener(code)),
      kill: () => void child.kill(),
    };
  }
}
