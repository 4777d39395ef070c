// Runs Doyensec's electronegativity on the built app and fails on any finding above low severity
// that is not explained in SECURITY_EXPLANATIONS (mirrored in the README's security section).
// Its CLI breaks with the newer `commander` hoisted here, so its runner is called directly.
import { createRequire } from "node:module";
import { resolve } from "node:path";

const require = createRequire(import.meta.url);
// The scan needs no network, but electronegativity fetches translations with `got` at start; on
// Node 24 that request's failure crashes the process later (got's retry timer). The scan is made
// offline by giving it a `got` that fails at once.
const gotPath = require.resolve("got", {
  paths: [require.resolve("@doyensec/electronegativity/package.json")],
});
const offline = () => Promise.reject(new Error("the security scan runs offline"));
offline.head = offline;
require.cache[gotPath] = { id: gotPath, filename: gotPath, loaded: true, exports: offline };
const runner = require("@doyensec/electronegativity/dist/runner.js");
const run = typeof runner === "function" ? runner : runner.default;
// The installed Electron's version (its package.json is there even with ELECTRON_SKIP_BINARY_DOWNLOAD).
const electronVersion = require("electron/package.json").version;

/** Findings reviewed and accepted, with the reason (check id -> why). */
const SECURITY_EXPLANATIONS = {
  // Reported for every use of the preload bridge; Duet's preload exposes a fixed, typed API through contextBridge.
  PRELOAD_JS_CHECK:
    "The preload exposes only window.duet: fixed request channels, typed, validated again in the main process.",
  // Reported for any file:// page; Duet loads only its own bundled page and blocks navigation and every non-file request.
  CSP_GLOBAL_CHECK:
    "The CSP is set both as a meta tag and as a response header; the checker cannot see the header set in window.ts.",
  AVAILABLE_SECURITY_FIXES_GLOBAL_CHECK:
    "Informational: lists fixes in newer Electron releases; Electron is pinned and upgraded deliberately.",
  ELECTRON_VERSION_JSON_CHECK: "Informational.",
};

// Called as a library (not the CLI), run() returns the findings; its CSV writer races with itself.
const result = await run(
  {
    input: resolve(process.argv[2] ?? "out"),
    output: undefined,
    isSarif: false,
    customScan: [],
    // This check downloads the Electron release list; CI has no network for it.
    excludeFromScan: ["availablesecurityfixesglobalcheck"],
    severitySet: undefined,
    confidenceSet: undefined,
    isRelative: true,
    isVerbose: false,
    electronUpgrade: undefined,
    electronVersionOverride: electronVersion,
    parserPlugins: [],
  },
  false,
);
for (const error of result.errors)
  console.log(`parse ${error.tolerable ? "warning" : "error"} in ${error.file}: ${error.message}`);
const findings = result.issues.map((issue) => ({
  id: issue.id,
  severity: issue.severity.name.toLowerCase(),
  confidence: issue.confidence.name.toLowerCase(),
  file: issue.file,
  location: `${issue.location.line}:${issue.location.column}`,
}));
const serious = findings.filter((f) => !["low", "informational"].includes(f.severity));
const unexplained = serious.filter((f) => !SECURITY_EXPLANATIONS[f.id]);
for (const f of findings)
  console.log(
    `${f.severity.padEnd(13)} ${f.id} ${f.file ?? ""}:${f.location ?? ""}${SECURITY_EXPLANATIONS[f.id] ? `  (explained: ${SECURITY_EXPLANATIONS[f.id]})` : ""}`,
  );
console.log(
  `${findings.length} findings, ${serious.length} above low severity, ${unexplained.length} unexplained.`,
);
if (unexplained.length > 0 || result.errors.some((e) => !e.tolerable)) process.exit(1);
