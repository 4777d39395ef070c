// Builds the app into out/ with electron-vite (electron.vite.config.ts): the main process and the
// engine process, the preload, and the window. Dependencies stay in node_modules (native modules
// cannot be bundled).
// Usage: node build/build.mjs [node|renderer] [--out DIR]   (DIR defaults to out/)
import { build } from "electron-vite";
import { cp, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { out: { type: "string", default: "out" } },
});
const only = positionals[0];
if (only !== undefined && only !== "node" && only !== "renderer") {
  console.error(`Unknown part "${only}": use node or renderer.`);
  process.exit(2);
}
const out = resolve(values.out);
// A full build starts clean; a partial one keeps the other part.
if (only === undefined) await rm(out, { recursive: true, force: true });
process.env.DUET_BUILD_OUT = out;
if (only) process.env.DUET_BUILD_ONLY = only;
await build({ configFile: resolve("electron.vite.config.ts"), logLevel: "warn" });
if (only === undefined || only === "node") await copyNativeBuilds(join(out, "native"));
console.log(`Built ${only ?? "everything"} into ${out}`);

/**
 * Duet's own llama.cpp builds (npm run build:native) that are current for this platform go with
 * the app (electron-builder's extraResources: resources/native); the engine finds them there.
 * Without one, the folder is left empty and the app uses node-llama-cpp's stock binaries.
 */
async function copyNativeBuilds(target) {
  const source = process.env.DUET_NATIVE_DIR || resolve(".cache", "native");
  await mkdir(join(target, "current"), { recursive: true });
  await mkdir(join(target, "builds"), { recursive: true });
  let pointers;
  try {
    pointers = (await readdir(join(source, "current"))).filter((name) => name.endsWith(".json"));
  } catch {
    return;
  }
  for (const pointer of pointers) {
    const { key } = JSON.parse(await readFile(join(source, "current", pointer), "utf8"));
    if (typeof key !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key)) continue;
    await cp(join(source, "builds", key), join(target, "builds", key), { recursive: true });
    await cp(join(source, "current", pointer), join(target, "current", pointer));
  }
}
