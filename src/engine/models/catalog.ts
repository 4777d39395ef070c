import { z } from "zod";
import catalogData from "./catalog.json" with { type: "json" };

import { MODEL_KINDS } from "../../shared/choices.js";

export { MODEL_KINDS, type ModelKind } from "../../shared/choices.js";

const digestSchema = z.object({
  algorithm: z.enum(["sha256", "sha1"]),
  value: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
});
export type Digest = z.infer<typeof digestSchema>;

const entrySchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  name: z.string().min(1),
  kind: z.enum(MODEL_KINDS),
  fileName: z.string().regex(/^[^/\\]+$/),
  uri: z.string().url(),
  sizeBytes: z.number().int().positive(),
  digest: digestSchema.nullable(),
  /** True when size and digest come from the publisher's published data. */
  verified: z.boolean(),
  license: z.string(),
  contextLength: z.number().int().positive().optional(),
  promptFamily: z.string().optional(),
  /** KV cache shape, for memory estimates (LLMs). */
  shape: z
    .object({ layers: z.number().int(), kvHeads: z.number().int(), headDim: z.number().int() })
    .optional(),
  archive: z.enum(["tar.bz2"]).optional(),
  languages: z.array(z.string()).optional(),
  description: z.string(),
});
export type CatalogEntry = z.infer<typeof entrySchema>;

const catalogSchema = z.object({ models: z.array(entrySchema) });

let cached: CatalogEntry[] | undefined;

/** The recommended models, validated once. */
export function catalog(): readonly CatalogEntry[] {
  if (!cached) {
    const parsed = catalogSchema.parse(catalogData);
    const ids = new Set<string>();
    for (const m of parsed.models) {
      if (ids.has(m.id)) throw new Error(`Catalog repeats id ${m.id}`);
      ids.add(m.id);
      if (m.kind === "llm" && (!m.shape || !m.contextLength || !m.promptFamily))
        throw new Error(`Catalog LLM ${m.id} lacks shape, context or family`);
    }
    cached = parsed.models;
  }
  return cached;
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
