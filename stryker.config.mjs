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
  vitest: { configFile: "vitest.config.ts", related: true, pool: "forks" },
  // The downloader and the GGUF header reader. `--mutate FILE` picks one; `--testFiles GLOB`
  // narrows the tests (the reader's importers include end-to-end CLI tests, which spawn processes
  // and are best left out: --testFiles "test/engine/gguf/**/*.test.ts").
  mutate: [
    "src/engine/models/download.ts",
    "src/engine/models/http.ts",
    "src/engine/models/progress.ts",
    "src/engine/models/tarMember.ts",
    "src/engine/gguf/reader.ts",
  ],
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  tempDirName: ".stryker-tmp",
  concurrency: 2,
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 85, break: null },
  cleanTempDir: "always",
};
