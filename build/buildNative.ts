/**
 * npm run build:native -- [--gpu cpu|cuda|vulkan|metal] [--portable] [--cuda-arch LIST] [--no-verify] [--force] [--keep-work]
 *
 * Builds Duet's patched llama.cpp (docs/native-build.md) from the source node-llama-cpp ships,
 * offline, with node-llama-cpp's own `source download` / `source build`, in a private copy of the
 * package, so the stock binary in node_modules is never touched. The result is cached under
 * `DUET_NATIVE_DIR` (default .cache/native) by (node-llama-cpp version, patch series, backend,
 * CPU for native builds): a second run only marks the cached build current.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, platform } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  NATIVE_BACKENDS,
  NATIVE_RECIPE_VERSION,
  bestX64Variant,
  buildDir,
  cpuFingerprint,
  currentPointerPath,
  defaultNativeDir,
  nodeLlamaCppBuildMetadataSchema,
  type NativeBackend,
  type NativeBuildManifest,
} from "../src/engine/llama/nativeBuilds.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const patchSets = [
  { dir: join(root, "native", "llama.cpp", "patches"), target: "llama.cpp" },
  { dir: join(root, "native", "addon", "patches"), target: "addon" },
] as const;

function fail(message: string): never {
  process.stderr.write(`build:native: ${message}\n`);
  process.exit(1);
}

function log(message: string): void {
  process.stderr.write(`build:native: ${message}\n`);
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(" ")} exited with ${signal ?? code}`)),
    );
  });
}

function patchFiles(): Array<{ name: string; path: string; target: "llama.cpp" | "addon" }> {
  return patchSets.flatMap(({ dir, target }) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".patch"))
          .sort()
          .map((name) => ({ name: `${target}/${name}`, path: join(dir, name), target }))
      : [],
  );
}

/** sha256 over the recipe version and every patch (line endings normalised, so checkouts agree). */
function patchSeriesHash(patches: ReturnType<typeof patchFiles>): string {
  const hash = createHash("sha256").update(`duet-native-recipe-${NATIVE_RECIPE_VERSION}\n`);
  for (const p of patches) hash.update(`${p.name}\0${readFileSync(p.path, "utf8").replace(/\r\n/g, "\n")}\0`);
  return hash.digest("hex");
}

function folderSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderSize(path) : statSync(path).size;
  }
  return total;
}

interface CpuTarget {
  name: string;
  requiredCpuFlags: string[];
  fingerprint: string | null;
  options: Record<string, string>;
}

/**
 * What CPU the build targets. Portable: every variant (below). Otherwise, on Linux x64, the
 * strongest of ggml's CPU variants this CPU runs, compiled with that variant's flags: the code
 * node-llama-cpp's prebuilt binary runs here, so the two binaries are compared like for like.
 * (A -march=native build crashed in the AMX kernels on this project's Sapphire Rapids VMs, while
 * the variant's flags, AMX included, run.) Elsewhere: -march=native, tied to this exact CPU.
 */
function cpuTargetFor(portable: boolean): CpuTarget {
  if (portable) return { name: "portable", requiredCpuFlags: [], fingerprint: null, options: {} };
  const variant = bestX64Variant();
  if (!variant) return { name: "native", requiredCpuFlags: [], fingerprint: cpuFingerprint(), options: {} };
  const options: Record<string, string> = { GGML_NATIVE: "OFF" };
  for (const feature of variant.ggmlFeatures) options[`GGML_${feature}`] = "ON";
  return { name: variant.name, requiredCpuFlags: variant.requiredFlags, fingerprint: null, options };
}

/**
 * CMake options for the build. Static linking puts llama.cpp inside the addon, so the patched
 * addon and the stock one never share a library by file name in one process. OpenMP off, as in
 * node-llama-cpp's prebuilt binaries (ggml's own thread pool). Portable builds (releases) follow
 * node-llama-cpp's CI: every x64 CPU variant as a loadable backend, which needs shared libraries.
 */
function cmakeOptionsFor(
  backend: NativeBackend,
  cpu: CpuTarget,
  patchHash: string,
  cudaArchitectures: string | undefined,
): Record<string, string> {
  const options: Record<string, string> = {
    // Names the build folder node-llama-cpp derives from the options, and the library variant.
    DUET_PATCHES: patchHash.slice(0, 12),
    GGML_OPENMP: "OFF",
    ...cpu.options,
  };
  // Without GGML_NATIVE, ggml compiles CUDA kernels for every architecture (slow); a build for
  // this machine compiles for its GPUs only.
  if (backend === "cuda" && cudaArchitectures) options.CMAKE_CUDA_ARCHITECTURES = cudaArchitectures;
  if (cpu.name !== "portable") {
    options.BUILD_SHARED_LIBS = "OFF";
    return options;
  }
  options.GGML_NATIVE = "OFF";
  if ((backend === "cpu" || backend === "cuda" || backend === "vulkan") && arch() === "x64") {
    options.GGML_BACKEND_DL = "ON";
    options.GGML_CPU_ALL_VARIANTS = "ON";
  }
  if (backend === "metal") options.BUILD_SHARED_LIBS = "OFF";
  return options;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    allowNegative: true,
    options: {
      gpu: { type: "string", default: "cpu" },
      portable: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "keep-work": { type: "boolean", default: false },
      "cuda-arch": { type: "string" },
      verify: { type: "boolean", default: true },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "Usage: npm run build:native -- [--gpu cpu|cuda|vulkan|metal] [--portable] [--cuda-arch LIST] [--no-verify] [--force] [--keep-work]\n" +
        "Builds the patched llama.cpp into DUET_NATIVE_DIR (default .cache/native); cached.\n",
    );
    return;
  }
  const backend = values.gpu as NativeBackend;
  if (!NATIVE_BACKENDS.includes(backend)) {
    fail(`--gpu must be one of ${NATIVE_BACKENDS.join(", ")} (got "${values.gpu}").`);
  }
  const portable = values.portable ?? false;

  const nlcDir = join(root, "node_modules", "node-llama-cpp");
  const nlcPackage = join(nlcDir, "package.json");
  if (!existsSync(nlcPackage)) fail("node-llama-cpp is not installed; run npm ci first.");
  const nlcVersion = String((JSON.parse(readFileSync(nlcPackage, "utf8")) as { version?: unknown }).version);
  const llamaCppInfo = JSON.parse(readFileSync(join(nlcDir, "llama", "llama.cpp.info.json"), "utf8")) as {
    tag?: unknown;
  };
  const llamaCppRelease = String(llamaCppInfo.tag);

  const patches = patchFiles();
  if (patches.length === 0) fail(`no patches found under ${join(root, "native")}.`);
  const patchHash = patchSeriesHash(patches);
  const cpu = cpuTargetFor(portable);
  const cudaArchitectures =
    backend === "cuda" ? (values["cuda-arch"] ?? (portable ? undefined : "native")) : undefined;
  const key = [
    `nlc${nlcVersion}`,
    platform(),
    arch(),
    backend,
    cpu.fingerprint ? `native-${cpu.fingerprint}` : cpu.name,
    ...(cudaArchitectures ? [`sm${cudaArchitectures.replace(/[^A-Za-z0-9]+/g, "_")}`] : []),
    patchHash.slice(0, 12),
  ].join("-");

  const nativeDir = defaultNativeDir();
  const outDir = buildDir(nativeDir, key);
  const manifestPath = join(outDir, "duet-native.json");
  const pointerPath = currentPointerPath(nativeDir, backend);
  const previousPointer = existsSync(pointerPath) ? readFileSync(pointerPath, "utf8") : undefined;
  const markCurrent = (): void => {
    mkdirSync(dirname(pointerPath), { recursive: true });
    writeFileSync(pointerPath, `${JSON.stringify({ key }, null, 2)}\n`);
  };
  /** Loads the new build in a child process (a crash there must not take this script down). */
  const verify = async (): Promise<void> => {
    if (!values.verify) return;
    try {
      await run(process.execPath, ["--import", "tsx", join(root, "build", "verifyNative.ts"), backend], root);
    } catch {
      if (previousPointer === undefined) rmSync(pointerPath, { force: true });
      else writeFileSync(pointerPath, previousPointer);
      fail(
        `the ${backend} build ${key} does not run here (see above); it is kept in ${outDir} but not marked current. ` +
          "Use --no-verify for builds meant for other machines (a GPU this machine lacks).",
      );
    }
  };

  if (existsSync(manifestPath) && !values.force) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as NativeBuildManifest;
    markCurrent();
    log(
      `cached: ${relative(root, outDir) || outDir} (built in ${manifest.buildSeconds} s, ` +
        `${(manifest.binarySize / 2 ** 20).toFixed(1)} MiB); marked current for ${backend}.`,
    );
    return;
  }

  const started = performance.now();
  // The private copy must sit inside the repository so its dependencies resolve from node_modules.
  const workRoot = join(root, ".cache", "native-work", key);
  const work = join(workRoot, "node_modules", "node-llama-cpp");
  rmSync(workRoot, { recursive: true, force: true });
  mkdirSync(dirname(work), { recursive: true });
  log(`copying node-llama-cpp ${nlcVersion} to ${relative(root, work)}`);
  cpSync(nlcDir, work, {
    recursive: true,
    filter: (source) => {
      const rel = relative(nlcDir, source).split("\\").join("/");
      return !["llama/llama.cpp", "llama/localBuilds", "llama/lastBuild.json", "llama/xpack/store"].some(
        (skip) => rel === skip || rel.startsWith(`${skip}/`),
      );
    },
  });

  const cli = join(work, "dist", "cli", "cli.js");
  // Our options only through the command line and these variables; nothing inherited may redirect the build.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("NODE_LLAMA_CPP_")),
  );
  log(`extracting llama.cpp ${llamaCppRelease} from the bundled source (offline)`);
  await run(
    process.execPath,
    [cli, "source", "download", "--skipBuild", "--noUsageExample", "--gpu", "false"],
    work,
    env,
  );

  const llamaDir = join(work, "llama");
  for (const patch of patches) {
    // The llama.cpp clone is its own git repository; the addon folder is patched as plain files
    // (the ceiling stops git from treating it as part of Duet's repository).
    const cwd = patch.target === "llama.cpp" ? join(llamaDir, "llama.cpp") : llamaDir;
    const patchEnv = { ...env, GIT_CEILING_DIRECTORIES: patch.target === "addon" ? work : "" };
    try {
      await run("git", ["apply", "--check", patch.path], cwd, patchEnv);
    } catch {
      fail(
        `${patch.name} does not apply to the llama.cpp source of node-llama-cpp ${nlcVersion}. ` +
          "Refresh the patch series (native/README.md, 'Refreshing the patches').",
      );
    }
    await run("git", ["apply", patch.path], cwd, patchEnv);
    log(`applied ${patch.name}`);
  }

  const cmakeOptions = cmakeOptionsFor(backend, cpu, patchHash, cudaArchitectures);
  for (const [name, value] of Object.entries(cmakeOptions))
    env[`NODE_LLAMA_CPP_CMAKE_OPTION_${name}`] = value;
  const gpuArg = backend === "cpu" ? "false" : backend;
  log(`building (${backend}, CPU target ${cpu.name}); this takes a few minutes`);
  await run(process.execPath, [cli, "source", "build", "--gpu", gpuArg, "--noUsageExample"], work, env);

  const lastBuild = JSON.parse(readFileSync(join(llamaDir, "lastBuild.json"), "utf8")) as {
    folderName?: unknown;
  };
  const producedDir = join(llamaDir, "localBuilds", String(lastBuild.folderName), "Release");
  if (!existsSync(join(producedDir, "llama-addon.node")))
    fail(`the build produced no addon in ${producedDir}.`);
  const metadata = nodeLlamaCppBuildMetadataSchema.safeParse(
    JSON.parse(readFileSync(join(producedDir, "_nlcBuildMetadata.json"), "utf8")),
  );
  if (!metadata.success) fail(`the build's metadata is not what node-llama-cpp ${nlcVersion} writes.`);

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  cpSync(producedDir, join(outDir, "bin"), { recursive: true });
  const manifest: NativeBuildManifest = {
    format: 1,
    key,
    nodeLlamaCppVersion: nlcVersion,
    llamaCppRelease,
    patchHash,
    patches: patches.map((p) => p.name),
    backend,
    platform: platform(),
    arch: arch(),
    portable,
    cpuTarget: cpu.name,
    requiredCpuFlags: cpu.requiredCpuFlags,
    cpuFingerprint: cpu.fingerprint,
    linkage: cmakeOptions.BUILD_SHARED_LIBS === "OFF" ? "static" : "shared",
    cmakeOptions,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
    binarySize: folderSize(join(outDir, "bin")),
  };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  markCurrent();
  await verify();
  if (!values["keep-work"]) rmSync(workRoot, { recursive: true, force: true });
  log(
    `built ${relative(root, outDir)} in ${manifest.buildSeconds} s ` +
      `(${(manifest.binarySize / 2 ** 20).toFixed(1)} MiB); marked current for ${backend}.`,
  );
}

main().catch((error: unknown) => fail((error as Error).message));
