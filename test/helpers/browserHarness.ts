import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type LaunchOptions } from "playwright-core";
import { testCacheDir } from "./testDirs.js";

export interface Harness {
  /** The window's address; a restart gives a new one. */
  url: string;
  dataDir: string;
  modelsDir: string;
  workerPid(): Promise<number | null>;
  /** Stops the harness and starts it again on the same folders (as quitting and reopening Duet). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts one harness process on the folders; resolves with its address once it listens. */
function launch(rendererDir: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "src/main/dev/browserHarness.ts", "--port", "0", "--renderer-dir", rendererDir],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const url = new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`The harness did not start: ${out}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = out.match(/Duet harness on (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => reject(new Error(`The harness exited (${code}): ${out}`)));
  });
  // Keep the last output, to explain an unexpected exit, and all of it in test-artifacts/harness.log.
  let tail = "";
  const log = join(process.cwd(), "test-artifacts", "harness.log");
  mkdirSync(join(process.cwd(), "test-artifacts"), { recursive: true });
  const record = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
    appendFileSync(log, d);
  };
  child.stderr!.on("data", record);
  child.stdout!.on("data", record);
  child.on("exit", (code, signal) => {
    if (code !== 0 && signal !== "SIGTERM" && signal !== "SIGKILL")
      process.stderr.write(`duet harness exited (${code ?? signal}):\n${tail}\n`);
  });
  return url.then((address) => ({ child, url: address }));
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
}

/**
 * Starts the dev harness (the real engine in Node) with the given model files copied into its
 * models folder. `env` adds environment variables (DUET_CATALOG, DUET_MIRROR, HOME...).
 */
export async function startHarness(
  models: Record<string, string>,
  rendererDir: string,
  env: NodeJS.ProcessEnv = {},
  options: { settings?: Record<string, unknown> } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "duet-harness-"));
  const dataDir = join(dir, "data");
  const modelsDir = join(dir, "models");
  mkdirSync(modelsDir, { recursive: true });
  // Settings the harness starts with (as a settings.json the user left).
  if (options.settings) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, "settings.json"), JSON.stringify({ version: 1, ...options.settings }));
  }
  for (const [name, source] of Object.entries(models)) copyFileSync(source, join(modelsDir, name));
  const fullEnv = { ...process.env, DUET_DATA_DIR: dataDir, DUET_MODELS_DIR: modelsDir, ...env };
  let current = await launch(rendererDir, fullEnv);
  const harness: Harness = {
    url: current.url,
    dataDir,
    modelsDir,
    workerPid: async () =>
      ((await (await fetch(`${harness.url}harness/worker`)).json()) as { pid: number | null }).pid,
    restart: async () => {
      await stopChild(current.child);
      current = await launch(rendererDir, fullEnv);
      harness.url = current.url;
    },
    stop: () => stopChild(current.child),
  };
  return harness;
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--autoplay-policy=no-user-gesture-required",
];

export function launchChromium(extraArgs: string[] = [], options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [...CHROMIUM_ARGS, ...extraArgs],
    ...options,
  });
}

/** A fingerprint of the window's sources: their paths, sizes and modification times. */
function sourcesKey(): string {
  const hash = createHash("sha256");
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const info = statSync(path);
        hash.update(`${path}:${info.size}:${info.mtimeMs}\n`);
      }
    }
  };
  for (const folder of ["src/renderer", "src/shared", "electron.vite.config.ts", "package-lock.json"]) {
    if (statSync(folder).isDirectory()) walk(folder);
    else hash.update(`${folder}:${statSync(folder).mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The built window for the browser tests: built once for these sources and shared by the test
 * files (each builds into its own folder and the first to finish keeps it), never into out/,
 * which the packaging test rebuilds at the same time.
 */
export function builtWindow(): string {
  const target = join(testCacheDir("window"), sourcesKey());
  if (existsSync(join(target, "renderer", "index.html"))) return join(target, "renderer");
  const build = mkdtempSync(join(testCacheDir("window"), "build-"));
  execFileSync(process.execPath, ["build/build.mjs", "renderer", "--out", build], { stdio: "ignore" });
  try {
    renameSync(build, target);
    return join(target, "renderer");
  } catch {
    // Another test file got there first: both builds are of the same sources.
    return join(build, "renderer");
  }
}
