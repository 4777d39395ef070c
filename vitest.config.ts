import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A temporary folder per run, removed at its end; caches kept between runs (test/globalSetup.ts).
    globalSetup: ["test/globalSetup.ts"],
    // Model tests load llama.cpp natively; forks isolate native crashes from the runner.
    pool: "forks",
    // Lets tests force garbage collection (the adapter must survive it).
    execArgv: ["--expose-gc"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
