import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type LaunchOptions } from "playwright-core";

export interface Harness {
  url: string;
  dataDir: string;
  modelsDir: string;
  workerPid(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts the dev harness (the real engine in Node) with the given model files copied into its models folder. */
export async function startHarness(
  models: Record<string, string>,
  rendererDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "duet-harness-"));
  const dataDir = join(dir, "data");
  const modelsDir = join(dir, "models");
  mkdirSync(modelsDir, { recursive: true });
  for (const [name, source] of Object.entries(models)) copyFileSync(source, join(modelsDir, name));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "src/main/dev/browserHarness.ts", "--port", "0", "--renderer-dir", rendererDir],
    {
      env: { ...process.env, DUET_DATA_DIR: dataDir, DUET_MODELS_DIR: modelsDir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
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
  return {
    url,
    dataDir,
    modelsDir,
    workerPid: async () =>
      ((await (await fetch(`${url}harness/worker`)).json()) as { pid: number | null }).pid,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000);
      }),
  };
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
