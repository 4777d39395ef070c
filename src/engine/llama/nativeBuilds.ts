/**
 * Duet's own llama.cpp builds (docs/native-build.md): where `npm run build:native` keeps them, how
 * a build is named, and how the adapter finds the one to load. Shared by the build script and
 * the adapter; nothing here loads native code.
 *
 * Layout of the builds folder (`DUET_NATIVE_DIR`, default `<repo>/.cache/native`):
 *   builds/<key>/duet-native.json   the manifest below
 *   builds/<key>/bin/               node-llama-cpp's build output (llama-addon.node, metadata)
 *   current/<platform>-<arch>-<backend>.json   {"key": ...}: the build the adapter loads
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { arch as osArch, cpus, platform as osPlatform } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const NATIVE_BACKENDS = ["cpu", "cuda", "vulkan", "metal"] as const;
export type NativeBackend = (typeof NATIVE_BACKENDS)[number];

/** Bumped when the build recipe (CMake options, layout) changes, so old builds are not reused. */
export const NATIVE_RECIPE_VERSION = 2;

export const nativeBuildManifestSchema = z.object({
  format: z.literal(1),
  key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  nodeLlamaCppVersion: z.string().min(1),
  llamaCppRelease: z.string().min(1),
  /** sha256 of the patch series and the recipe version. */
  patchHash: z.string().regex(/^[0-9a-f]{64}$/),
  patches: z.array(z.string()),
  backend: z.enum(NATIVE_BACKENDS),
  platform: z.string().min(1),
  arch: z.string().min(1),
  /** true: every CPU variant as a loadable backend (releases). false: built for one CPU target. */
  portable: z.boolean(),
  /** "portable", an x64 CPU variant of ggml ("sapphirerapids", ...), or "native" (-march=native). */
  cpuTarget: z.string().min(1),
  /** CPU flags (as /proc/cpuinfo names them) a variant build needs; the adapter checks them before loading. */
  requiredCpuFlags: z.array(z.string()),
  /** The CPU a "native" build was made for (see `cpuFingerprint`); null otherwise. */
  cpuFingerprint: z.string().nullable(),
  /**
   * "static": llama.cpp is linked into the addon, so it can be loaded next to the stock binary in
   * one process. "shared": its libraries share file names with the stock ones; never load both.
   */
  linkage: z.enum(["static", "shared"]),
  cmakeOptions: z.record(z.string(), z.string()),
  builtAt: z.string(),
  buildSeconds: z.number().nonnegative(),
  /** Total size of `bin/` in bytes. */
  binarySize: z.number().int().nonnegative(),
});
export type NativeBuildManifest = z.infer<typeof nativeBuildManifestSchema>;

const currentPointerSchema = z.object({ key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/) });

/** node-llama-cpp's `_nlcBuildMetadata.json`, the part its loader reads. */
export const nodeLlamaCppBuildMetadataSchema = z.object({
  buildOptions: z
    .object({
      customCmakeOptions: z.record(z.string(), z.string()),
      gpu: z.union([z.literal(false), z.string()]),
      llamaCpp: z.object({ repo: z.string(), release: z.string() }),
    })
    .passthrough(),
});
export type NodeLlamaCppBuildMetadata = z.infer<typeof nodeLlamaCppBuildMetadataSchema>;

/** The repository root, when running from source (CLIs, tests, bench). */
const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Where patched builds are: DUET_NATIVE_DIR; else, in an installed app, the builds it ships
 * (resources/native, see electron-builder.yml); else the repository's .cache/native.
 */
export function defaultNativeDir(
  env: NodeJS.ProcessEnv = process.env,
  resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath,
): string {
  if (env.DUET_NATIVE_DIR) return env.DUET_NATIVE_DIR;
  if (resourcesPath && existsSync(join(resourcesPath, "native", "current")))
    return join(resourcesPath, "native");
  return join(repositoryRoot, ".cache", "native");
}

export function currentPointerPath(
  nativeDir: string,
  backend: NativeBackend,
  platform: string = osPlatform(),
  arch: string = osArch(),
): string {
  return join(nativeDir, "current", `${platform}-${arch}-${backend}.json`);
}

export function buildDir(nativeDir: string, key: string): string {
  return join(nativeDir, "builds", key);
}

/** The CPU's instruction-set flags as Linux names them in /proc/cpuinfo; empty elsewhere. */
export function cpuFlags(): Set<string> {
  if (osPlatform() !== "linux" || !existsSync("/proc/cpuinfo")) return new Set();
  const line = readFileSync("/proc/cpuinfo", "utf8")
    .split("\n")
    .find((l) => /^(flags|Features)\s*:/.test(l));
  return new Set((line?.split(":")[1] ?? "").trim().split(/\s+/).filter(Boolean));
}

/**
 * Identifies the CPU a `-march=native` build was compiled for: its model and instruction-set
 * flags. A native build loaded on another CPU can die on an illegal instruction, so the adapter
 * only loads one whose fingerprint matches.
 */
export function cpuFingerprint(): string {
  const flags = [...cpuFlags()].sort().join(" ");
  const model = cpus()[0]?.model ?? "unknown";
  return createHash("sha256").update(`${osArch()}\n${model}\n${flags}`).digest("hex").slice(0, 16);
}

/** ggml's x64 CPU variants (ggml/src/CMakeLists.txt, GGML_CPU_ALL_VARIANTS), weakest first. */
const GGML_FEATURE_FLAGS: Record<string, readonly string[]> = {
  SSE42: ["sse4_2"],
  AVX: ["avx"],
  F16C: ["f16c"],
  FMA: ["fma"],
  AVX2: ["avx2"],
  BMI2: ["bmi2"],
  AVX512: ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
  AVX512_VBMI: ["avx512vbmi"],
  AVX512_VNNI: ["avx512_vnni"],
  AVX512_BF16: ["avx512_bf16"],
  AVX_VNNI: ["avx_vnni"],
  AMX_TILE: ["amx_tile"],
  AMX_INT8: ["amx_int8"],
};
const X64_VARIANTS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["x64", []],
  ["sse42", ["SSE42"]],
  ["sandybridge", ["SSE42", "AVX"]],
  ["ivybridge", ["SSE42", "AVX", "F16C"]],
  ["piledriver", ["SSE42", "AVX", "F16C", "FMA"]],
  ["haswell", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"]],
  ["alderlake", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX_VNNI"]],
  ["skylakex", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512"]],
  ["cannonlake", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI"]],
  ["cascadelake", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VNNI"]],
  ["icelake", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI"]],
  ["cooperlake", ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VNNI", "AVX512_BF16"]],
  [
    "zen4",
    ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"],
  ],
  [
    "sapphirerapids",
    [
      "SSE42",
      "AVX",
      "F16C",
      "FMA",
      "AVX2",
      "BMI2",
      "AVX512",
      "AVX512_VBMI",
      "AVX512_VNNI",
      "AVX512_BF16",
      "AMX_TILE",
      "AMX_INT8",
    ],
  ],
];

export interface CpuVariant {
  name: string;
  /** `GGML_<feature>` CMake options to turn on. */
  ggmlFeatures: readonly string[];
  /** The /proc/cpuinfo flags those features need. */
  requiredFlags: string[];
}

/**
 * The strongest of ggml's x64 variants this CPU runs: the flags node-llama-cpp's prebuilt binary
 * for this CPU was compiled with. Undefined off Linux x64 (no flags to read).
 */
export function bestX64Variant(flags: ReadonlySet<string> = cpuFlags()): CpuVariant | undefined {
  if (osArch() !== "x64" || flags.size === 0) return undefined;
  let best: CpuVariant | undefined;
  for (const [name, features] of X64_VARIANTS) {
    const requiredFlags = features.flatMap((f) => GGML_FEATURE_FLAGS[f] ?? []);
    if (
      requiredFlags.every((flag) => flags.has(flag)) &&
      (!best || features.length >= best.ggmlFeatures.length)
    ) {
      best = { name, ggmlFeatures: features, requiredFlags };
    }
  }
  return best;
}

export type NativeBuildLookup =
  | {
      found: true;
      manifest: NativeBuildManifest;
      binDir: string;
      bindingPath: string;
      metadata: NodeLlamaCppBuildMetadata;
    }
  | { found: false; reason: string };

/**
 * The build `npm run build:native` marked current for this platform and backend, if it exists,
 * is intact, matches the installed node-llama-cpp, and (for native builds) this CPU.
 */
export function findNativeBuild(options: {
  nativeDir: string;
  backend: NativeBackend;
  nodeLlamaCppVersion: string;
}): NativeBuildLookup {
  const pointerPath = currentPointerPath(options.nativeDir, options.backend);
  if (!existsSync(pointerPath)) {
    return {
      found: false,
      reason: `no patched ${options.backend} build in ${options.nativeDir} (run npm run build:native -- --gpu ${options.backend})`,
    };
  }
  const pointer = parseJsonFile(pointerPath, currentPointerSchema);
  if (!pointer.ok) return { found: false, reason: pointer.reason };
  const dir = buildDir(options.nativeDir, pointer.value.key);
  const manifest = parseJsonFile(join(dir, "duet-native.json"), nativeBuildManifestSchema);
  if (!manifest.ok) return { found: false, reason: manifest.reason };
  const m = manifest.value;
  if (m.nodeLlamaCppVersion !== options.nodeLlamaCppVersion) {
    return {
      found: false,
      reason: `the patched build ${m.key} is for node-llama-cpp ${m.nodeLlamaCppVersion}, not the installed ${options.nodeLlamaCppVersion} (rebuild with npm run build:native)`,
    };
  }
  if (m.platform !== osPlatform() || m.arch !== osArch()) {
    return { found: false, reason: `the patched build ${m.key} is for ${m.platform}-${m.arch}` };
  }
  if (m.cpuTarget === "native" && m.cpuFingerprint !== cpuFingerprint()) {
    return {
      found: false,
      reason: `the patched build ${m.key} was compiled for another CPU (-march=native); rebuild it on this machine`,
    };
  }
  const flags = cpuFlags();
  const missing = m.requiredCpuFlags.filter((flag) => !flags.has(flag));
  if (missing.length > 0) {
    return {
      found: false,
      reason: `the patched build ${m.key} needs CPU features this machine lacks (${missing.join(", ")}); rebuild it here`,
    };
  }
  const binDir = join(dir, "bin");
  const bindingPath = join(binDir, "llama-addon.node");
  if (!existsSync(bindingPath)) return { found: false, reason: `${bindingPath} is missing` };
  const metadata = parseJsonFile(join(binDir, "_nlcBuildMetadata.json"), nodeLlamaCppBuildMetadataSchema);
  if (!metadata.ok) return { found: false, reason: metadata.reason };
  return { found: true, manifest: m, binDir, bindingPath, metadata: metadata.value };
}

function parseJsonFile<T>(
  path: string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    return { ok: false, reason: `${path} is unreadable (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    return { ok: false, reason: `${path} is not a valid build record (${parsed.error.message})` };
  return { ok: true, value: parsed.data };
}
