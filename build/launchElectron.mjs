// Starts the built app in Electron. When Electron's program is missing (its download was skipped
// with ELECTRON_SKIP_BINARY_DOWNLOAD, or blocked offline), tries the download once and otherwise
// says in one line how to get it, instead of a stack trace.
// Usage: node build/launchElectron.mjs [--check]   (--check only makes sure Electron is there)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const electronDir = join("node_modules", "electron");

/** The program's path, read the way the electron package does, without triggering its download. */
function electronProgram() {
  const pathFile = join(electronDir, "path.txt");
  if (!existsSync(pathFile)) return undefined;
  const program = join(electronDir, "dist", readFileSync(pathFile, "utf8").trim());
  return existsSync(program) ? program : undefined;
}

let program = electronProgram();
if (!program && existsSync(join(electronDir, "install.js"))) {
  console.log("Duet: downloading Electron's program (once, about 100 MB)...");
  const install = spawnSync(process.execPath, [join(electronDir, "install.js")], { encoding: "utf8" });
  program = electronProgram();
  if (!program) {
    const reason =
      `${install.stderr ?? ""}`.split("\n").find((line) => line.trim() !== "") ?? "no reason given";
    console.error(
      `Duet: Electron's program is not installed and could not be downloaded (${reason.trim()}). ` +
        "Fix: with internet access run `npx install-electron`, or `npm ci` without ELECTRON_SKIP_BINARY_DOWNLOAD. " +
        "Without a window, `npm run demo` and `npm run ask` work in the terminal.",
    );
    process.exit(1);
  }
}
if (!program) {
  console.error("Duet: the electron package is missing. Fix: run `npm ci` in the Duet folder.");
  process.exit(1);
}
if (process.argv.includes("--check")) process.exit(0);

const child = spawn(program, ["."], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
