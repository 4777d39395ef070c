import { readFileSync } from "node:fs";
import { z } from "zod";
import { DuetError } from "../errors.js";
import catalogData from "./catalog.json" with { type: "json" };

export { MODEL_KINDS, type ModelKind } from "../../shared/choices.js";

export type { CatalogArchive, CatalogEntry } from "../../shared/models.js";
import { catalogEntrySchema as entrySchema, type CatalogEntry } from "../../shared/models.js";

const catalogSchema = z.object({ models: z.array(entrySchema) });

/** Hugging Face addresses must name a commit, so that the file behind them (and its checksum) cannot change. */
const PINNED_HUGGING_FACE = /^https:\/\/huggingface\.co\/[^/]+\/[^/]+\/resolve\/[0-9a-f]{40}\//;

/** Checks a catalog (the built-in one, or the one `DUET_CATALOG` names); throws with the reason in words. */
export function parseCatalog(data: unknown, source: string): CatalogEntry[] {
  const parsed = catalogSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DuetError(
      "invalid-argument",
      `${source} is not a valid model catalog: ${issue.path.join(".")} ${issue.message}.`,
    );
  }
  const ids = new Set<string>();
  for (const m of parsed.data.models) {
    const problem = ids.has(m.id)
      ? "the id is used twice"
      : m.kind === "llm" && (!m.shape || !m.contextLength || !m.promptFamily)
        ? "a language model needs shape, contextLength and promptFamily"
        : m.uri.startsWith("https://huggingface.co/") && !PINNED_HUGGING_FACE.test(m.uri)
          ? "a Hugging Face address must name a commit (resolve/<40 hex digits>/…), not a branch"
          : undefined;
    if (problem) throw new DuetError("invalid-argument", `${source}: model ${m.id}: ${problem}.`);
    ids.add(m.id);
  }
  return parsed.data.models;
}

let cached: { from: string | undefined; entries: CatalogEntry[] } | undefined;

/**
 * The recommended models, validated once. `DUET_CATALOG` names a JSON file to use instead (the
 * same format as catalog.json): for tests, and for machines that install from their own list.
 */
export function catalog(): readonly CatalogEntry[] {
  const override = process.env.DUET_CATALOG || undefined;
  if (cached?.from !== override || !cached) {
    let data: unknown = catalogData;
    if (override) {
      try {
        data = JSON.parse(readFileSync(override, "utf8"));
      } catch (error) {
        throw new DuetError(
          "invalid-argument",
          `DUET_CATALOG names ${override}, which could not be read as JSON: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    cached = { from: override, entries: parseCatalog(data, override ?? "catalog.json") };
  }
  return cached.entries;
}

export function findCatalogEntry(id: string): CatalogEntry | undefined {
  return catalog().find((m) => m.id === id);
}

/** Bytes of f16 KV cache per token of context (keys and values, every layer). */
export function kvBytesPerToken(shape: NonNullable<CatalogEntry["shape"]>): number {
  return 2 * shape.layers * shape.kvHeads * shape.headDim * 2;
}

/** Memory an LLM needs to run Duet's two views: weights, KV cache for both views, and working buffers. */
export function llmMemoryBytes(entry: CatalogEntry, contextPerView: number): number {
  if (!entry.shape) return entry.sizeBytes;
  const overhead = 400 * 2 ** 20; // compute buffers and output logits, measured about 300 MB with a 152k vocabulary
  return entry.sizeBytes + 2 * contextPerView * kvBytesPerToken(entry.shape) + overhead;
}

/** Replaces the Hugging Face origin with a mirror's base URL (other hosts are left alone). */
export function resolveDownloadUrl(uri: string, mirrorBaseUrl: string | null | undefined): string {
  if (!mirrorBaseUrl) return uri;
  const prefix = "https://huggingface.co/";
  if (!uri.startsWith(prefix)) return uri;
  return `${mirrorBaseUrl.replace(/\/+$/, "")}/${uri.slice(prefix.length)}`;
}
