import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where Duet keeps its data (models, settings), shared by the desktop app and the CLIs.
 * `DUET_DATA_DIR` overrides it (tests, portable installs).
 */
export function duetDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.DUET_DATA_DIR) return env.DUET_DATA_DIR;
  if (platform === "win32") return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "Duet");
  if (platform === "darwin") return join(homedir(), "Library", "Application Support", "Duet");
  return join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "duet");
}

export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DUET_MODELS_DIR ?? join(duetDataDir(env), "models");
}
