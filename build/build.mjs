// Builds the app into out/: the main process, the engine process and the preload with esbuild,
// the window with Vite. Dependencies stay in node_modules (native modules cannot be bundled).
import { build as esbuild } from "esbuild";
import { build as vite } from "vite";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";

// Usage: node build/build.mjs [node|renderer] [--out DIR]   (DIR defaults to out/)
import { parseArgs } from "node:util";
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { out: { type: "string", default: "out" } },
});
const only = positionals[0];
if (only !== undefined && only !== "node" && only !== "renderer")
  throw new Error(`Unknown part "${only}": use node or renderer.`);
const out = resolve(values.out);
// A full build starts clean; a partial one keeps the other part.
if (only === undefined) await rm(out, { recursive: true, force: true });

const node = {
  bundle: true,
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
};

if (!only || only === "node") {
  await esbuild({
    ...node,
    entryPoints: ["src/main/index.ts"],
    outfile: join(out, "main/index.js"),
    format: "esm",
    external: ["electron"],
  });
  await esbuild({
    ...node,
    entryPoints: ["src/main/worker/engineWorker.ts"],
    outfile: join(out, "worker/engineWorker.js"),
    format: "esm",
  });
  // Sandboxed preloads must be a single CommonJS file that requires nothing but electron.
  await esbuild({
    ...node,
    packages: undefined,
    entryPoints: ["src/preload/index.ts"],
    outfile: join(out, "preload/index.cjs"),
    format: "cjs",
    external: ["electron"],
  });
}
if (!only || only === "renderer") {
  await vite({ configFile: "vite.config.ts", logLevel: "warn", build: { outDir: join(out, "renderer") } });
}
console.log(`Built ${only ?? "everything"} into ${out}`);
