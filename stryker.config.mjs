// Mutation testing (npm run test:mutation): StrykerJS changes the code in small ways ("mutants")
// and runs the tests that cover each change; a mutant no test notices marks behaviour nothing
// checks. Not part of `npm test` (it takes minutes per file). One file:
//   npm run test:mutation -- --mutate src/engine/models/download.ts
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  // build/strykerErrorMessages.mjs: error-message words are not mutated (the reason is written there).
  plugins: ["@stryker-mutator/vitest-runner", "./build/strykerErrorMessages.mjs"],
  ignorers: ["error-messages"],
  testRunner: "vitest",
  // Only the tests that import the mutated file run (Vitest's related mode), each only for the
  // mutants it covers.
  coverageAnalysis: "perTest",
  // Mutants in module-level constants (the layouts' block tables, schemas) run once, when a test
  // file first imports the module; the Vitest runner does not re-import modules per mutant, so
  // such a mutant can never be seen by any test and would count as surviving. The code that reads
  // those tables is mutated as usual.
  ignoreStatic: true,
  vitest: { configFile: "vitest.config.ts", related: true, pool: "forks" },
  // The downloader, the GGUF header reader, the view cache and layouts, and the settings store.
  // `--mutate FILE` picks one; `--testFiles GLOB` narrows the tests (end-to-end tests that spawn
  // processes are best left out, e.g. --testFiles "test/engine/gguf/**/*.test.ts").
  mutate: [
    "src/engine/reasoning/viewCache.ts",
    "src/engine/reasoning/layout.ts",
    "src/engine/settings/store.ts",
    "src/engine/settings/settingsFile.ts",
    "src/engine/settings/migrations.ts",
    "src/engine/models/download.ts",
    "src/engine/models/http.ts",
    "src/engine/models/progress.ts",
    "src/engine/models/tarMember.ts",
    "src/engine/gguf/reader.ts",
  ],
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  // Every mutant and its status, for scripts (reports/mutation/mutation.json).
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  concurrency: 2,
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 85, break: null },
  cleanTempDir: "always",
};
