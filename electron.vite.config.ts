import { resolve } from "node:path";
import { defineConfig, type UserConfig } from "electron-vite";

/**
 * The app's build: main (with the engine's utility process), the sandboxed preload and the window.
 * `npm run dev` serves the window with hot reload and restarts main on change; `npm run build`
 * (build/build.mjs) writes everything to out/. DUET_BUILD_OUT moves the output folder and
 * DUET_BUILD_ONLY=node|renderer builds one part (tests build into their own folders).
 */
const out = resolve(process.env.DUET_BUILD_OUT ?? "out");
const only = process.env.DUET_BUILD_ONLY;

const main: UserConfig["main"] = {
  build: {
    outDir: resolve(out, "main"),
    emptyOutDir: true,
    target: "node22",
    sourcemap: true,
    rollupOptions: {
      input: {
        index: resolve("src/main/index.ts"),
        // The engine runs in a utility process of its own (see docs/architecture.md).
        engineWorker: resolve("src/main/worker/engineWorker.ts"),
        // GPU probing loads native GPU libraries: a short-lived process of its own.
        hardwareProbe: resolve("src/main/worker/hardwareProbeWorker.ts"),
      },
      output: { format: "es", entryFileNames: "[name].js" },
    },
  },
};

const preload: UserConfig["preload"] = {
  build: {
    outDir: resolve(out, "preload"),
    emptyOutDir: true,
    // A sandboxed preload must be one CommonJS file that requires nothing but electron.
    externalizeDeps: false,
    rollupOptions: {
      input: { index: resolve("src/preload/index.ts") },
      external: ["electron"],
      output: { format: "cjs", entryFileNames: "[name].cjs" },
    },
  },
};

const renderer: UserConfig["renderer"] = {
  root: resolve("src/renderer"),
  plugins: [
    {
      // Under `npm run dev` only: Vite injects styles inline and reloads over a WebSocket
      // (the main process relaxes its header the same way, see src/main/security.ts).
      name: "duet-dev-csp",
      apply: "serve",
      transformIndexHtml: (html: string) =>
        html
          .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
          .replace("connect-src 'self'", "connect-src 'self' ws:"),
    },
  ],
  base: "./",
  build: {
    outDir: resolve(out, "renderer"),
    emptyOutDir: true,
    target: "chrome140",
    assetsInlineLimit: 0,
    sourcemap: false,
    rollupOptions: { input: { index: resolve("src/renderer/index.html") } },
  },
};

export default defineConfig({
  ...(only === undefined || only === "node" ? { main, preload } : {}),
  ...(only === undefined || only === "renderer" ? { renderer } : {}),
});
