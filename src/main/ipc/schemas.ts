import { z } from "zod";
import type { RequestChannel } from "./contract.js";

const empty = z.object({}).strict();

/** Runtime schemas for every request's arguments: nothing from the window is trusted unchecked. */
export const requestSchemas: { [C in RequestChannel]: z.ZodType } = {
  "app:snapshot": empty,
  "session:push-to-talk": z.object({ down: z.boolean() }).strict(),
  "session:send-text": z.object({ text: z.string().min(1).max(20_000) }).strict(),
  "session:stop": empty,
  "playback:report": z
    .object({ chunkId: z.number().int().min(0), event: z.enum(["started", "ended", "stopped"]) })
    .strict(),
  // Settings are validated again, field by field, by the settings store.
  "settings:update": z.object({ patch: z.record(z.string(), z.unknown()) }).strict(),
  "models:list": empty,
  "models:download": z.object({ id: z.string().min(1).max(200) }).strict(),
  "models:cancel": z.object({ id: z.string().min(1).max(200) }).strict(),
  "models:import": z.object({ path: z.string().min(1).max(4096) }).strict(),
  "models:remove": z.object({ id: z.string().min(1).max(4096) }).strict(),
  "models:recommend": empty,
  "voice:preview": z.object({ text: z.string().min(1).max(500) }).strict(),
  "app:open-logs-folder": empty,
};

/** The channel list itself lives in channels.ts (free of zod, for the preload); re-exported here for callers of this module. */
export { REQUEST_CHANNELS } from "./channels.js";

/** Microphone frames: 16 kHz mono Float32, at most one second per message. */
export function isAudioFrame(value: unknown): value is Float32Array {
  return value instanceof Float32Array && value.length > 0 && value.length <= 16_000;
}
