// Checks the packaging layout without downloading Electron: electron-builder builds a Linux
// "dir" target against a stub Electron folder, then the result is inspected and measured.
// Usage: node build/checkPackaging.mjs [--json]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const json = process.argv.includes("--json");
// The installed Electron's version (its package.json is there even with ELECTRON_SKIP_BINARY_DOWNLOAD).
const electronVersion = createRequire(import.meta.url)("electron/package.json").version;
const stub = mkdtempSync(join(tmpdir(), "electron-stub-"));
writeFileSync(join(stub, "electron"), "#!/bin/sh\necho stub electron\n");
chmodSync(join(stub, "electron"), 0o755);
writeFileSync(join(stub, "version"), electronVersion);
for (const f of ["LICENSE", "LICENSES.chromium.html"]) writeFileSync(join(stub, f), "stub");
const output = mkdtempSync(join(tmpdir(), "duet-release-"));

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
  perPackageBytes: Object.fromEntries(
    [
      ...list(unpacked).filter((n) => !n.startsWith("@")),
      ...list(join(unpacked, "@node-llama-cpp")).map((n) => `@node-llama-cpp/${n}`),
      ...list(join(unpacked, "@fugood")).map((n) => `@fugood/${n}`),
    ].map((n) => [n, size(join(unpacked, n))]),
  ),
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
}
