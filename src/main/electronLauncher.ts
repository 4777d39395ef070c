import { utilityProcess } from "electron";
import type { ProcessHandle, ProcessLauncher } from "./host/processes.js";

/**
 * Runs an entry (the engine, the hardware probe) in an Electron utility process, so a crash or a
 * long native call never freezes or ends the app.
 */
export class UtilityProcessLauncher<In, Out> implements ProcessLauncher<In, Out> {
  constructor(
    private readonly entry: string,
    private readonly serviceName: string,
  ) {}

  launch(): ProcessHandle<In, Out> {
    const child = utilityProcess.fork(this.entry, [], { serviceName: this.serviceName, stdio: "inherit" });
    return {
      post: (message: In) => child.postMessage(message),
      onMessage: (listener) => child.on("message", (message: unknown) => listener(message as Out)),
      onExit: (listener) => child.once("exit", (code: number) => listener(code)),
      kill: () => void child.kill(),
    };
  }
}
