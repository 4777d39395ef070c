#!/usr/bin/env node
/**
 * npm run models -- list|download ID|import PATH|verify|remove ID|recommend [--json]
 */
import { isDuetError } from "../errors.js";
import { detectHardware } from "../llama/hardware.js";
import { formatBytes } from "../../shared/format.js";
import type { DownloadPhase, DownloadProgress } from "../models/download.js";
import { ModelManager } from "../models/manager.js";
import { recommendSetup } from "../models/recommend.js";
import { duetDataDir, modelsDir } from "../paths.js";
import { environmentOverrides } from "../settings/overrides.js";
import { SettingsStore } from "../settings/store.js";
import { parseCommandLine, UsageError } from "./commandLine.js";
import { failAndExit } from "./common.js";

const usage = `Usage: npm run models -- <command> [--json]

  list              the recommended models, the ones you imported or put in the folder, which are
                    installed, and models found in LM Studio's, Ollama's, Jan's and the Hugging Face
                    cache's folders (use one with "import PATH", or choose it in the app)
  download ID       download a model (continues an interrupted download), check it against its
                    published checksum and install it; Ctrl+C keeps what was downloaded
  import PATH       check a local GGUF, whisper model or voice folder and add it to your models
  verify            re-check every model in the folder (headers, and the catalog's checksums)
  remove ID         delete a downloaded model, or forget an imported one (your file stays)
  recommend         the model and settings that fit this machine

Models go to ${modelsDir()}. Set a download mirror with DUET_MIRROR=https://mirror.example/
or in the app's settings.
`;

/** What a download is doing, in words, for each phase that is not a progress bar. */
function phaseLine(progress: DownloadProgress): string | undefined {
  const lines: Partial<Record<DownloadPhase, string>> = {
    connecting: progress.resumed ? "Connecting… (continuing the partial download)" : "Connecting…",
    waiting: progress.message,
    verifying: "Checking the file against its published checksum…",
    installing: "Installing…",
  };
  return lines[progress.phase];
}

function bar(progress: DownloadProgress): string {
  const width = 28;
  const total = progress.totalBytes;
  const fraction = total ? progress.receivedBytes / total : 0;
  const filled = Math.round(fraction * width);
  const eta =
    progress.etaSeconds === null
      ? ""
      : ` ETA ${progress.etaSeconds >= 60 ? `${Math.floor(progress.etaSeconds / 60)}m${Math.round(progress.etaSeconds % 60)}s` : `${Math.round(progress.etaSeconds)}s`}`;
  return (
    `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${total ? `${(fraction * 100).toFixed(0).padStart(3)}%` : "   ?"} ` +
    `${formatBytes(progress.receivedBytes)}${total ? ` / ${formatBytes(total)}` : ""}  ${formatBytes(progress.bytesPerSecond)}/s${eta}` +
    (progress.attempt > 1 ? `  (attempt ${progress.attempt})` : "") +
    (progress.resumed ? "  resumed" : "")
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let json = args.includes("--json");
  try {
    const { values, positionals } = parseCommandLine(
      args,
      { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      "models",
    );
    json = values.json ?? false;
    const [command, argument] = positionals;
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    if (!command) throw new UsageError("Give a command.");
    const settings = await SettingsStore.open(duetDataDir());
    const openingNotice = settings.notice?.message;
    if (openingNotice) process.stderr.write(`duet: ${openingNotice}\n`);
    /** After a change to the settings: says so when it was not saved (it lasts for this run only). */
    const reportUnsaved = (change: string) => {
      if (settings.savesChanges) return;
      const why =
        settings.notice && settings.notice.message !== openingNotice
          ? settings.notice.message
          : `Duet cannot save its settings (${settings.path}; see above).`;
      process.stderr.write(`duet: ${change} for this run only: ${why}\n`);
    };
    // A mirror in the environment applies to this run only; it is never written to the settings.
    settings.override(environmentOverrides());
    const manager = new ModelManager({ folder: modelsDir(), settings });
    const out = (value: unknown, text: string) =>
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : text);
    switch (command) {
      case "list": {
        const models = await manager.list({ found: true });
        out(
          models,
          models
            .map(
              (m) =>
                `${m.installed ? "✓" : m.problem ? "!" : m.partialBytes > 0 ? "…" : " "} ${m.id.padEnd(28)} ${m.kind.padEnd(4)} ${formatBytes(m.sizeBytes).padStart(8)}  ${m.name}` +
                (m.partialBytes > 0 && !m.installed
                  ? ` (${formatBytes(m.partialBytes)} downloaded, run download to continue)`
                  : "") +
                (m.foundIn ? `  (in ${m.foundIn}: ${m.path})` : "") +
                (m.problem ? `\n    ${m.problem}` : ""),
            )
            .join("\n") + "\n",
        );
        return;
      }
      case "download": {
        if (!argument) throw new UsageError("download needs a model id (see list).");
        const controller = new AbortController();
        process.once("SIGINT", () => controller.abort());
        let last = 0;
        let phase: DownloadPhase | undefined;
        const tty = process.stderr.isTTY;
        try {
          const status = await manager.download(argument, {
            signal: controller.signal,
            onProgress: (p) => {
              const changed = p.phase !== phase;
              phase = p.phase;
              if (json) {
                const now = Date.now();
                if (!changed && now - last < 1000 && p.receivedBytes !== p.totalBytes) return;
                last = now;
                process.stdout.write(`${JSON.stringify({ type: "progress", ...p })}\n`);
                return;
              }
              const line = phaseLine(p);
              if (line !== undefined && (changed || p.phase === "waiting"))
                process.stderr.write(`${tty ? "\r\x1b[K" : ""}${line}\n`);
              else if (p.phase === "downloading" && tty) process.stderr.write(`\r${bar(p)}\x1b[K`);
            },
          });
          if (!json && tty) process.stderr.write("\r\x1b[K");
          out({ type: "done", model: status }, `Installed ${status.name} at ${status.path}\n`);
        } catch (error) {
          if (!isDuetError(error, "aborted")) throw error;
          // A cancel is the user's choice, not a failure: say what was kept, exit as interrupted.
          if (json)
            process.stdout.write(`${JSON.stringify({ type: "cancelled", message: error.message })}\n`);
          process.stderr.write(`${tty ? "\r\x1b[K" : ""}${error.message}\n`);
          process.exitCode = 130;
        }
        return;
      }
      case "import": {
        if (!argument) throw new UsageError("import needs a path.");
        const status = await manager.import(argument);
        out(status, `Added ${status.name} (${status.kind}) from ${status.path}\n`);
        reportUnsaved(`${status.name} is added`);
        return;
      }
      case "verify": {
        const results = await manager.verify();
        out(
          results,
          results.length === 0
            ? "No models installed.\n"
            : results
                .map(
                  (r) =>
                    `${r.ok ? "ok  " : "BAD "} ${r.id}${r.problem ? `: ${r.problem}` : r.checkedAgainst === "header" ? " (no published checksum: its header was checked)" : ""}`,
                )
                .join("\n") + "\n",
        );
        if (results.some((r) => !r.ok)) process.exitCode = 1;
        return;
      }
      case "remove": {
        if (!argument) throw new UsageError("remove needs a model id or an imported path.");
        await manager.remove(argument);
        out({ removed: argument }, `Removed ${argument}\n`);
        reportUnsaved(`${argument} is removed`);
        return;
      }
      case "recommend": {
        const hardware = await detectHardware();
        const recommendation = recommendSetup(hardware);
        out(
          { hardware, recommendation },
          `${recommendation.reason}\nGPU backend: ${recommendation.gpu}, context ${recommendation.contextSize} per view.\n`,
        );
        for (const gpu of hardware.gpus)
          if (!json && gpu.problem) process.stdout.write(`  ${gpu.backend}: ${gpu.problem}\n`);
        return;
      }
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (error) {
    failAndExit(error, { json, usage });
  }
}

void main();
