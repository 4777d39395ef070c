import { basicHardwareInfo, type HardwareInfo } from "../../engine/llama/hardwareBasics.js";
import type { ProbeReply } from "../worker/probeProtocol.js";
import type { ProcessLauncher } from "./processes.js";

export interface HardwareProbeOptions {
  launcher: ProcessLauncher<never, ProbeReply>;
  /** A probe that has not answered by then is stopped. Default 60 s (starting CUDA can be slow). */
  timeoutMs?: number;
}

/**
 * What this machine can run, asked of a short-lived probe process once and then cached. If the
 * probe crashes, hangs or fails, the app stays up: the answer is the CPU and memory (read here,
 * without GPU libraries) with the reason GPUs are not offered.
 */
export class HardwareProbe {
  private cached: Promise<HardwareInfo> | undefined;

  constructor(private readonly options: HardwareProbeOptions) {}

  detect(): Promise<HardwareInfo> {
    this.cached ??= this.run().catch((problem: string) => {
      this.cached = undefined; // the next request tries again
      const info = basicHardwareInfo();
      info.gpus.push({ backend: "vulkan", usable: false, problem });
      return info;
    });
    return this.cached;
  }

  private run(): Promise<HardwareInfo> {
    return new Promise((resolve, reject) => {
      const probe = this.options.launcher.launch();
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const timer = setTimeout(() => {
        finish(() =>
          reject(
            "The GPU check did not finish within a minute, so GPUs are not offered. Update the GPU driver, or pick the CPU in Settings.",
          ),
        );
        probe.kill();
      }, this.options.timeoutMs ?? 60_000);
      probe.onMessage((message) => {
        if (message.type === "hardware") finish(() => resolve(message.info));
        else finish(() => reject(`The GPU check failed (${message.message}), so GPUs are not offered.`));
      });
      probe.onExit((code) =>
        finish(() =>
          reject(
            `The GPU check stopped unexpectedly (${code === null ? "killed by a signal" : `exit code ${code}`}), so GPUs are not offered. ` +
              "A GPU driver may be faulty: update it, or pick the CPU in Settings.",
          ),
        ),
      );
    });
  }
}
