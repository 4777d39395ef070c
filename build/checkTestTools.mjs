// Checks the system tools the tests use, before any test runs, and says how to install what is
// missing. `.ci/run` uses it to decide whether to install them. Exit code 1 when something is missing.
// Usage: node build/checkTestTools.mjs [--quiet]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const onPath = (command) =>
  spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
const tools = [
  { what: "espeak-ng (speaks the test questions)", ok: () => onPath("espeak-ng"), apt: "espeak-ng" },
  { what: "sox (converts and measures audio)", ok: () => onPath("sox"), apt: "sox" },
  {
    what: "pocketsphinx_continuous (recognises spoken answers)",
    ok: () => onPath("pocketsphinx_continuous"),
    apt: "pocketsphinx",
  },
  {
    what: "pocketsphinx's US English model",
    ok: () => existsSync("/usr/share/pocketsphinx/model/en-us/en-us"),
    apt: "pocketsphinx-en-us",
  },
  {
    what: `Chromium at ${chromium} (runs the window tests; CHROMIUM_PATH moves it)`,
    ok: () => existsSync(chromium),
    apt: "chromium",
  },
];
const missing = tools.filter((tool) => !tool.ok());
if (missing.length > 0) {
  if (!process.argv.includes("--quiet")) {
    console.error(
      `The tests need tools that are not installed:\n${missing.map((t) => `  - ${t.what}`).join("\n")}`,
    );
    console.error(`On Debian or Ubuntu: sudo apt-get install -y ${missing.map((t) => t.apt).join(" ")}`);
  }
  process.exit(1);
}
