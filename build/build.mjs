// Builds the app into out/: the main process, the engine process and the preload with esbuild,
// the window with Vite. Dependencies stay in node_modules (native modules cannot be bundled).
import { build as esbuild } from "esbuild";
import { build as vite } from "vite";
import { rm } from "node:fs/promises";

const only = process.argv[2];
await rm("out", { recursive: true, force: only === undefined });

const node = { bundle: true, platform: "node", target: "node20", packages: "external", sourcemap: true, logLevel: "warning" };

if (!only || only === "node") {
  await esbuild({ ...node, entryPoints: ["src/main/index.ts"], outfile: "out/main/index.js", format: "esm", external: ["electron"] });
  await esbuild({ ...node, entryPoints: ["src/main/worker/engineWorker.ts"], outfile: "out/worker/engineWorker.js", format: "esm" });
  // Sandboxed preloads must be a single CommonJS file that requires nothing but electron.
  await esbuild({ ...node, packages: undefined, entryPoints: ["src/preload/index.ts"], outfile: "out/preload/index.cjs", format: "cjs", external: ["electron"] });
}
if (!only || only === "renderer") {
  await vite({ configFile: "vite.config.ts", logLevel: "warn" });
}
console.log(`Built ${only ?? "everything"} into out/`);
