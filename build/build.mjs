// Builds the app into out/ with electron-vite (electron.vite.config.ts): the main process and the
// engine process, the preload, and the window. Dependencies stay in node_modules (native modules
// cannot be bundled).
// Usage: node build/build.mjs [node|renderer] [--out DIR]   (DIR defaults to out/)
import { build } from "electron-vite";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
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
console.log(`Built ${only ?? "everything"} into ${out}`);
