import { DuetError } from "../errors.js";
import type { SettingsPatch } from "../../shared/settings.js";

/**
 * Settings given by environment variables: they apply to this run (the app or a command) and are
 * never saved. DUET_MIRROR replaces https://huggingface.co for downloads. (DUET_DATA_DIR and
 * DUET_MODELS_DIR move folders; see paths.ts.)
 */
export function environmentOverrides(env: NodeJS.ProcessEnv = process.env): SettingsPatch {
  const mirror = env.DUET_MIRROR?.trim();
  if (!mirror) return {};
  if (!URL.canParse(mirror) || !/^https?:$/.test(new URL(mirror).protocol))
    throw new DuetError("invalid-argument", `DUET_MIRROR must be an http(s) address, got "${mirror}".`);
  return { models: { mirrorBaseUrl: mirror } };
}
