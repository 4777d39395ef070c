import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  defaultNativeDir,
  bestX64Variant,
  buildDir,
  cpuFingerprint,
  cpuFlags,
  currentPointerPath,
  findNativeBuild,
  type NativeBuildManifest,
} from "../../../src/engine/llama/nativeBuilds.js";

function manifest(overrides: Partial<NativeBuildManifest> = {}): NativeBuildManifest {
  return {
    format: 1,
    key: "test-build",
    nodeLlamaCppVersion: "3.21.1",
    llamaCppRelease: "v0.4.0",
    patchHash: "a".repeat(64),
    patches: ["llama.cpp/0001-gap-decoding.patch"],
    backend: "cpu",
    platform: platform(),
    arch: arch(),
    portable: false,
    cpuTarget: "x64",
    requiredCpuFlags: [],
    cpuFingerprint: null,
    linkage: "static",
    cmakeOptions: { DUET_PATCHES: "aaaaaaaaaaaa" },
    builtAt: "2026-11-29T00:00:00.000Z",
    buildSeconds: 200,
    binarySize: 9_000_000,
    ...overrides,
  };
}

/** A builds folder holding one build, marked current for the CPU backend. */
function nativeDir(m: NativeBuildManifest, files: { binding?: boolean; metadata?: unknown } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "duet-native-"));
  const bin = join(buildDir(dir, m.key), "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(buildDir(dir, m.key), "duet-native.json"), JSON.stringify(m));
  if (files.binding !== false) writeFileSync(join(bin, "llama-addon.node"), "");
  writeFileSync(
    join(bin, "_nlcBuildMetadata.json"),
    JSON.stringify(
      files.metadata ?? {
        buildOptions: {
          customCmakeOptions: {},
          gpu: false,
          llamaCpp: { repo: "ggml-org/llama.cpp", release: "v0.4.0" },
        },
      },
    ),
  );
  mkdirSync(join(dir, "current"), { recursive: true });
  writeFileSync(currentPointerPath(dir, "cpu"), JSON.stringify({ key: m.key }));
  return dir;
}

const lookup = (dir: string, version = "3.21.1") =>
  findNativeBuild({ nativeDir: dir, backend: "cpu", nodeLlamaCppVersion: version });

describe("where the patched builds are", () => {
  it("prefers DUET_NATIVE_DIR, then the builds an installed app ships, then the repository's cache", () => {
    const resources = mkdtempSync(join(tmpdir(), "duet-resources-"));
    expect(defaultNativeDir({ DUET_NATIVE_DIR: "/elsewhere" }, resources)).toBe("/elsewhere");
    // An installed app without shipped builds falls back to the repository's cache folder.
    expect(defaultNativeDir({}, resources)).toMatch(/[\\/]\.cache[\\/]native$/);
    mkdirSync(join(resources, "native", "current"), { recursive: true });
    expect(defaultNativeDir({}, resources)).toBe(join(resources, "native"));
    expect(defaultNativeDir({}, undefined)).toMatch(/[\\/]\.cache[\\/]native$/);
  });
});

describe("finding the patched llama.cpp build", () => {
  it("finds the current build and its binding", () => {
    const found = lookup(nativeDir(manifest()));
    expect(found.found).toBe(true);
    if (found.found) expect(found.bindingPath).toMatch(/test-build[\\/]bin[\\/]llama-addon\.node$/);
  });

  it("says why when there is none, or it does not fit this machine or this node-llama-cpp", () => {
    const empty = mkdtempSync(join(tmpdir(), "duet-native-"));
    expect(lookup(empty)).toMatchObject({
      found: false,
      reason: expect.stringMatching(/npm run build:native/),
    });
    expect(lookup(nativeDir(manifest()), "3.22.0")).toMatchObject({
      found: false,
      reason: expect.stringMatching(/node-llama-cpp 3\.21\.1, not the installed 3\.22\.0/),
    });
    expect(lookup(nativeDir(manifest({ platform: "plan9" })))).toMatchObject({
      found: false,
      reason: expect.stringMatching(/plan9/),
    });
    expect(
      lookup(nativeDir(manifest({ cpuTarget: "native", cpuFingerprint: "0000000000000000" }))),
    ).toMatchObject({ found: false, reason: expect.stringMatching(/another CPU/) });
    expect(lookup(nativeDir(manifest({ cpuTarget: "native", cpuFingerprint: cpuFingerprint() }))).found).toBe(
      true,
    );
    expect(lookup(nativeDir(manifest({ requiredCpuFlags: ["no_such_cpu_feature"] })))).toMatchObject({
      found: false,
      reason: expect.stringMatching(/no_such_cpu_feature/),
    });
  });

  it("refuses damaged records instead of loading whatever is there", () => {
    expect(lookup(nativeDir(manifest(), { binding: false }))).toMatchObject({
      found: false,
      reason: expect.stringMatching(/llama-addon\.node is missing/),
    });
    expect(lookup(nativeDir(manifest(), { metadata: { buildOptions: "?" } }))).toMatchObject({
      found: false,
      reason: expect.stringMatching(/not a valid build record/),
    });
    const dir = nativeDir(manifest());
    writeFileSync(join(buildDir(dir, "test-build"), "duet-native.json"), "{ not json");
    expect(lookup(dir)).toMatchObject({ found: false, reason: expect.stringMatching(/unreadable/) });
    writeFileSync(currentPointerPath(dir, "cpu"), JSON.stringify({ key: "../../etc" }));
    expect(lookup(dir)).toMatchObject({
      found: false,
      reason: expect.stringMatching(/not a valid build record/),
    });
  });
});

describe("the CPU variant a build targets", () => {
  const flags = (...names: string[]) => new Set(names);
  const base = ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"];
  const avx512 = ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"];

  it.runIf(arch() === "x64")("is the strongest of ggml's variants the CPU runs", () => {
    expect(bestX64Variant(flags(...base))?.name).toBe("haswell");
    expect(bestX64Variant(flags(...base, "avx_vnni"))?.name).toBe("alderlake");
    expect(bestX64Variant(flags(...base, ...avx512, "avx512vbmi", "avx512_vnni", "avx512_bf16"))?.name).toBe(
      "zen4",
    );
    const spr = bestX64Variant(
      flags(...base, ...avx512, "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"),
    );
    expect(spr?.name).toBe("sapphirerapids");
    expect(spr?.ggmlFeatures).toContain("AMX_INT8");
    expect(spr?.requiredFlags).toEqual(expect.arrayContaining(["amx_int8", "avx512bw"]));
    // AVX-512 without one of its five parts is not AVX-512 for ggml.
    expect(bestX64Variant(flags(...base, ...avx512.slice(1)))?.name).toBe("haswell");
    expect(bestX64Variant(flags("sse4_2"))?.name).toBe("sse42");
  });

  it("is undefined where the CPU's flags cannot be read", () => {
    expect(bestX64Variant(new Set())).toBeUndefined();
    if (platform() !== "linux") expect(cpuFlags().size).toBe(0);
  });
});
