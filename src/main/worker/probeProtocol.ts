import type { HardwareInfo } from "../../engine/llama/hardwareBasics.js";

/** The hardware probe's one message before it exits. */
export type ProbeReply = { type: "hardware"; info: HardwareInfo } | { type: "error"; message: string };
