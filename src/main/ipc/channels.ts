import type { RequestChannel } from "./contract.js";

/**
 * Every request channel of the contract, once (the type makes the list complete). Free of zod, so
 * the preload can use it; the main process's schemas live in schemas.ts.
 */
const channels: Record<RequestChannel, true> = {
  "app:snapshot": true,
  "session:push-to-talk": true,
  "session:send-text": true,
  "session:stop": true,
  "playback:report": true,
  "settings:update": true,
  "models:list": true,
  "models:download": true,
  "models:cancel": true,
  "models:import": true,
  "models:remove": true,
  "models:recommend": true,
  "voice:preview": true,
  "app:open-logs-folder": true,
};

export const REQUEST_CHANNELS = Object.keys(channels) as RequestChannel[];
