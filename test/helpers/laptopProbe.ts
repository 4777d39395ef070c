/**
 * A hardware probe for the browser tests (DUET_HARNESS_PROBE_ENTRY): it reports a fixed laptop,
 * 2 CPU threads, 8 GB of memory and no GPU, so the first run's recommendation does not depend on
 * the machine the tests run on.
 */
import type { ProbeReply } from "../../src/main/worker/probeProtocol.js";

const reply: ProbeReply = {
  type: "hardware",
  info: {
    platform: "linux",
    arch: "x64",
    cpuModel: "Test laptop CPU",
    cpuThreads: 2,
    ramBytes: 8e9,
    freeRamBytes: 5e9,
    gpus: [],
  },
};
process.send?.(reply);
setTimeout(() => process.exit(0), 50);
