// Checks the packaging layout without downloading Electron: electron-builder builds a Linux
// "dir" target against a stub Electron folder, then the result is inspected and measured. The
// stub carries Electron's fuse wire (its defaults), so the fuses electron-builder flips are read
// back from the packaged binary. Also prints where the app keeps its logs and crash dumps.
// Usage: node build/checkPackaging.mjs [--json] [--keep]
// --keep leaves the unpacked app in place (its folder is `output` in the report); otherwise it is
// removed when the check ends.
import { execFileSync } from "node:child_process";
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  chmodSync,
  existsSync,
  rmSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tsImport } from "tsx/esm/api";

// Electron's fuse wire (see @electron/fuses): a sentinel, the wire version, its length, then one
// byte per fuse, "0" off and "1" on. These are an unflipped Electron's defaults.
const FUSE_SENTINEL = "dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX";
const FUSES = [
  ["RunAsNode", "1"],
  ["EnableCookieEncryption", "0"],
  ["EnableNodeOptionsEnvironmentVariable", "1"],
  ["EnableNodeCliInspectArguments", "1"],
  ["EnableEmbeddedAsarIntegrityValidation", "0"],
  ["OnlyLoadAppFromAsar", "0"],
  ["LoadBrowserProcessSpecificV8Snapshot", "0"],
  ["GrantFileProtocolExtraPrivileges", "1"],
];
const fuseWire = () =>
  Buffer.concat([
    Buffer.from(FUSE_SENTINEL, "ascii"),
    Buffer.from([1, FUSES.length]),
    Buffer.from(FUSES.map(([, state]) => state).join(""), "ascii"),
  ]);

/** The fuses of an Electron binary, by name: true (on), false (off). */
function readFuses(binary) {
  const bytes = readFileSync(binary);
  const at = bytes.indexOf(FUSE_SENTINEL);
  if (at < 0) throw new Error(`${binary} has no fuse wire.`);
  const length = bytes[at + FUSE_SENTINEL.length + 1];
  return Object.fromEntries(
    FUSES.slice(0, length).map(([name], i) => [name, bytes[at + FUSE_SENTINEL.length + 2 + i] === 0x31]),
  );
}

const json = process.argv.includes("--json");
// The installed Electron's version (its package.json is there even with ELECTRON_SKIP_BINARY_DOWNLOAD).
const electronVersion = createRequire(import.meta.url)("electron/package.json").version;
const stub = mkdtempSync(join(tmpdir(), "electron-stub-"));
writeFileSync(
  join(stub, "electron"),
  Buffer.concat([Buffer.from("#!/bin/sh\necho stub electron\nexit 0\n# "), fuseWire(), Buffer.from("\n")]),
);
chmodSync(join(stub, "electron"), 0o755);
writeFileSync(join(stub, "version"), electronVersion);
for (const f of ["LICENSE", "LICENSES.chromium.html"]) writeFileSync(join(stub, f), "stub");
const output = mkdtempSync(join(tmpdir(), "duet-release-"));
// The unpacked app is a few hundred MB: gone when the check ends, whichever way it ends.
const keep = process.argv.includes("--keep");
process.on("exit", () => {
  for (const folder of keep ? [stub] : [stub, output]) rmSync(folder, { recursive: true, force: true });
});

execFileSync(process.execPath, ["build/build.mjs"], { stdio: json ? "ignore" : "inherit" });
execFileSync(
  join("node_modules", ".bin", "electron-builder"),
  [
    "--linux",
    "dir",
    `-c.electronDist=${stub}`,
    `-c.electronVersion=${electronVersion}`,
    `-c.directories.output=${output}`,
  ],
  {
    stdio: json ? "ignore" : "inherit",
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: "1" },
  },
);

function size(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((n, name) => n + size(join(path, name)), 0);
}
const resources = join(output, "linux-unpacked", "resources");
const { appFolders } = await tsImport("../src/main/appFolders.ts", import.meta.url);
const folders = appFolders();
const unpacked = join(resources, "app.asar.unpacked", "node_modules");
const list = (dir) => (existsSync(dir) ? readdirSync(dir) : []);
const report = {
  asarBytes: size(join(resources, "app.asar")),
  unpackedBytes: size(join(resources, "app.asar.unpacked")),
  totalBytes: size(join(output, "linux-unpacked")),
  nodeLlamaCppBuilds: list(join(unpacked, "@node-llama-cpp")),
  whisperBuilds: list(join(unpacked, "@fugood")),
  sherpaBuilds: list(unpacked).filter((n) => n.startsWith("sherpa-onnx")),
  uiohookPrebuilds: list(join(unpacked, "uiohook-napi", "prebuilds")),
  // Duet's own llama.cpp builds shipped with the app (empty without npm run build:native).
  patchedLlamaBuilds: list(join(resources, "native", "builds")),
  perPackageBytes: Object.fromEntries(
    [
      ...list(unpacked).filter((n) => !n.startsWith("@")),
      ...list(join(unpacked, "@node-llama-cpp")).map((n) => `@node-llama-cpp/${n}`),
      ...list(join(unpacked, "@fugood")).map((n) => `@fugood/${n}`),
    ].map((n) => [n, size(join(unpacked, n))]),
  ),
  // Read back from the packaged binary (electron-builder names it after package.json's name).
  fuses: readFuses(join(output, "linux-unpacked", "duet")),
  appUpdateConfig: existsSync(join(resources, "app-update.yml"))
    ? readFileSync(join(resources, "app-update.yml"), "utf8")
    : null,
  // Where the app keeps its files on this computer (DUET_DATA_DIR moves them all).
  dataFolder: folders.data,
  logFile: join(folders.logs, "duet.log"),
  crashDumps: folders.crashDumps,
  electronData: folders.electron,
  output,
};
if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
else {
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `app.asar ${mb(report.asarBytes)}, unpacked native modules ${mb(report.unpackedBytes)}, whole app folder ${mb(report.totalBytes)} (with a stub Electron)`,
  );
  for (const [name, bytes] of Object.entries(report.perPackageBytes))
    console.log(`  ${name.padEnd(40)} ${mb(bytes)}`);
  console.log("Electron fuses in the packaged binary:");
  for (const [name, on] of Object.entries(report.fuses))
    console.log(`  ${name.padEnd(40)} ${on ? "on" : "off"}`);
  console.log(
    `Updates: ${report.appUpdateConfig ? report.appUpdateConfig.trim().split("\n").join(", ") : "no app-update.yml"}`,
  );
  console.log(`Log file:     ${report.logFile} (rotated: duet.1.log ... duet.3.log)`);
  console.log(`Crash dumps:  ${report.crashDumps} (kept on this computer, never uploaded)`);
  console.log(`Electron data: ${report.electronData}`);
}
