import { defineConfig } from "vite";

// The window's code. React's JSX is compiled by esbuild; no dev server is used by the app.
export default defineConfig({
  root: "src/renderer",
  base: "./",
  build: {
    outDir: "../../out/renderer",
    emptyOutDir: true,
    target: "chrome130",
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  esbuild: { jsx: "automatic" },
});
