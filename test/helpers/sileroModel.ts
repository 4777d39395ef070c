import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findCatalogEntry } from "../../src/engine/models/catalog.js";
import { DownloadError } from "../../src/engine/models/download.js";
import { ModelManager } from "../../src/engine/models/manager.js";
import { SettingsStore } from "../../src/engine/settings/store.js";

/**
 * The Silero VAD model for tests, installed the way Duet installs it: the model manager downloads
 * the catalog's `silero-vad` entry (the published npm tarball, which every machine that ran
 * `npm ci` reaches), checks the tarball and the member against their checksums, and keeps the
 * model in .cache/test-models for the next run.
 */
const folder = resolve(".cache/test-models");

/** Failures that mean "the registry cannot be reached from here", as opposed to a wrong file. */
const UNREACHABLE = new Set(["offline", "network", "stalled", "http-status"]);

/** The model's path, or the reason it could not be had (no registry access). */
export async function sileroModelForTests(): Promise<{ path: string } | { unavailable: string }> {
  const entry = findCatalogEntry("silero-vad");
  if (!entry) throw new Error("The catalog has no silero-vad entry.");
  const settings = await SettingsStore.open(mkdtempSync(join(tmpdir(), "duet-silero-settings-")));
  const manager = new ModelManager({
    folder,
    settings,
    entries: [entry],
    downloadDefaults: { retries: 2, offlineRetryMs: 2000, backoffMs: 1000 },
  });
  const status = (await manager.list()).find((m) => m.id === entry.id);
  if (status?.installed) return { path: status.path };
  try {
    return { path: (await manager.download(entry.id)).path };
  } catch (error) {
    // A file that does not match its checksum is a real failure; only an unreachable registry is a reason to skip.
    if (error instanceof DownloadError && UNREACHABLE.has(error.reason))
      return { unavailable: `the npm registry could not be reached: ${error.message}` };
    throw error;
  }
}
