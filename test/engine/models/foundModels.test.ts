/**
 * Models from other apps, found in fake folder trees laid out like LM Studio's, Ollama's, Jan's
 * and the Hugging Face cache, with generated GGUF and whisper files.
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { findModels, modelLocations, type FoundModelsScan } from "../../../src/engine/models/foundModels.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { tinyModelPath } from "../../helpers/models.js";
import { tinyWhisperPath } from "../../helpers/whisper.js";

let demo: string; // a Qwen3-family model Duet runs
let vision: string; // a qwen2vl model (M-RoPE): Duet cannot run it
let whisper: string;
beforeAll(async () => {
  demo = await tinyModelPath({ program: DEMO_PROGRAM });
  vision = await tinyModelPath({ architectureName: "qwen2vl", seed: 51 });
  whisper = await tinyWhisperPath();
});

function put(path: string, from: string | Buffer): string {
  mkdirSync(dirname(path), { recursive: true });
  if (typeof from === "string") copyFileSync(from, path);
  else writeFileSync(path, from);
  return path;
}

function link(path: string, target: string): string {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
  return path;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** An Ollama store: a manifest per tag naming its model layer's blob. */
function ollamaModel(
  store: string,
  host: string,
  ns: string,
  model: string,
  tag: string,
  blob: string,
  options: { hex?: string; sparseSize?: number } = {},
) {
  const hex = options.hex ?? sha256(blob);
  const blobPath = put(join(store, "blobs", `sha256-${hex}`), blob);
  if (options.sparseSize) truncateSync(blobPath, options.sparseSize);
  const config = "a".repeat(64);
  put(
    join(store, "manifests", host, ns, model, tag),
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          digest: `sha256:${config}`,
          size: 10,
        },
        layers: [
          { mediaType: "application/vnd.ollama.image.model", digest: `sha256:${hex}`, size: 100 },
          { mediaType: "application/vnd.ollama.image.params", digest: `sha256:${"b".repeat(64)}`, size: 10 },
        ],
      }),
    ),
  );
  return join(store, "blobs", `sha256-${hex}`);
}

const byName = (scan: FoundModelsScan) => Object.fromEntries(scan.models.map((m) => [m.name, m]));

describe("models found on this computer", () => {
  it("finds each app's models in its own layout, used in place, and says why others are skipped", async () => {
    const home = mkdtempSync(join(tmpdir(), "duet-found-home-"));
    const outside = mkdtempSync(join(tmpdir(), "duet-found-store-"));

    // LM Studio: models/<publisher>/<repository>/<file>, and the folder of releases before 0.3.
    const lms = join(home, ".lmstudio", "models");
    const lmsModel = put(join(lms, "lmstudio-community", "Qwen3-Demo-GGUF", "Qwen3-Demo-Q8_0.gguf"), demo);
    put(join(lms, "lmstudio-community", "Qwen2-VL-GGUF", "Qwen2-VL-Q4.gguf"), vision);
    put(join(lms, "lmstudio-community", "Qwen3-Demo-GGUF", "README.md"), Buffer.from("# readme"));
    put(join(lms, "big", "Split-GGUF", "Split-00002-of-00003.gguf"), Buffer.from("not the first part"));
    link(join(lms, "loop", "again"), lms); // a link back up: walked once
    link(join(lms, "gone", "Gone-GGUF", "gone.gguf"), join(home, "nowhere.gguf")); // a broken link
    put(join(home, ".cache", "lm-studio", "models", "old", "Old-GGUF", "old.gguf"), demo);

    // Ollama: the default store, and another named by OLLAMA_MODELS. Two tags share one blob;
    // the big blob is sparse, 20 GB: only its header may be read.
    const ollama = join(home, ".ollama", "models");
    const big = { hex: "e".repeat(64), sparseSize: 20 * 2 ** 30 }; // Duet does not hash blobs
    const bigBlob = ollamaModel(ollama, "registry.ollama.ai", "library", "qwen3", "8b", demo, big);
    ollamaModel(ollama, "registry.ollama.ai", "library", "qwen3", "latest", demo, big);
    ollamaModel(ollama, "registry.ollama.ai", "someone", "tuned", "q8", vision);
    put(
      join(ollama, "manifests", "registry.ollama.ai", "library", "broken", "latest"),
      Buffer.from("{ not json"),
    );
    put(
      join(ollama, "manifests", "registry.ollama.ai", "library", "missing", "latest"),
      Buffer.from(
        JSON.stringify({
          layers: [{ mediaType: "application/vnd.ollama.image.model", digest: `sha256:${"c".repeat(64)}` }],
        }),
      ),
    );
    const otherStore = join(outside, "ollama-store");
    const hfBlob = ollamaModel(otherStore, "hf.co", "Qwen", "Qwen3-Demo-GGUF", "Q8_0", demo);

    // Jan: <data>/llamacpp/models/<org>/<id>/model.gguf (0.6 on), and ~/jan/models/<id>/ before.
    const janModel = put(
      join(
        home,
        ".local",
        "share",
        "Jan",
        "data",
        "llamacpp",
        "models",
        "unsloth",
        "Qwen3-Demo",
        "model.gguf",
      ),
      demo,
    );
    put(
      join(dirname(janModel), "model.yml"),
      Buffer.from("model_path: llamacpp/models/unsloth/Qwen3-Demo/model.gguf\n"),
    );
    put(join(home, "jan", "models", "trinity-v1", "trinity-v1.Q4_K_M.gguf"), demo);

    // Hugging Face: snapshots link to blobs; two revisions share a blob; whisper.cpp's ggml files.
    const hub = join(home, ".cache", "huggingface", "hub");
    const repo = join(hub, "models--Qwen--Qwen3-Demo-GGUF");
    put(join(repo, "blobs", sha256(demo)), demo);
    for (const revision of ["1111111111", "2222222222"])
      link(
        join(repo, "snapshots", revision, "Qwen3-Demo-Q8_0.gguf"),
        join("..", "..", "blobs", sha256(demo)),
      );
    link(
      join(repo, "snapshots", "2222222222", "Qwen3-Demo-Q2_K.gguf"),
      join("..", "..", "blobs", "0".repeat(64)),
    );
    const whisperRepo = join(hub, "models--ggerganov--whisper.cpp");
    put(join(whisperRepo, "blobs", sha256(whisper)), whisper);
    link(
      join(whisperRepo, "snapshots", "3333333333", "ggml-tiny.bin"),
      join("..", "..", "blobs", sha256(whisper)),
    );
    put(
      join(hub, "models--someone--pytorch", "snapshots", "4444444444", "pytorch_model.bin"),
      Buffer.alloc(4096, 7),
    );
    put(join(hub, "datasets--someone--data", "snapshots", "5", "data.gguf"), demo);

    const scan = await findModels({ home, env: { OLLAMA_MODELS: otherStore }, platform: "linux" });
    const models = byName(scan);
    expect(Object.keys(models).sort()).toEqual(
      [
        "Qwen/Qwen3-Demo-GGUF Qwen3-Demo-Q8_0.gguf",
        "ggerganov/whisper.cpp ggml-tiny.bin",
        "hf.co/Qwen/Qwen3-Demo-GGUF:Q8_0",
        "lmstudio-community/Qwen3-Demo-GGUF/Qwen3-Demo-Q8_0.gguf",
        "old/Old-GGUF/old.gguf",
        "qwen3:8b",
        "trinity-v1/trinity-v1.Q4_K_M.gguf",
        "unsloth/Qwen3-Demo",
      ].sort(),
    );
    const demoSize = readFileSync(demo).length;
    expect(models["lmstudio-community/Qwen3-Demo-GGUF/Qwen3-Demo-Q8_0.gguf"]).toEqual({
      path: lmsModel,
      kind: "llm",
      name: "lmstudio-community/Qwen3-Demo-GGUF/Qwen3-Demo-Q8_0.gguf",
      source: "lm-studio",
      sizeBytes: demoSize,
      details: expect.objectContaining({ architecture: "qwen3", family: "qwen3" }),
    });
    // Ollama's blob is used where it is: the file itself, its size from the disk (a sparse 20 GB).
    expect(models["qwen3:8b"]).toMatchObject({ path: bigBlob, source: "ollama", sizeBytes: 20 * 2 ** 30 });
    expect(models["hf.co/Qwen/Qwen3-Demo-GGUF:Q8_0"]).toMatchObject({ path: hfBlob, source: "ollama" });
    expect(models["unsloth/Qwen3-Demo"]).toMatchObject({ path: janModel, source: "jan" });
    expect(models["Qwen/Qwen3-Demo-GGUF Qwen3-Demo-Q8_0.gguf"]).toMatchObject({
      path: join(repo, "snapshots", "1111111111", "Qwen3-Demo-Q8_0.gguf"),
      source: "hugging-face",
      kind: "llm",
    });
    expect(models["ggerganov/whisper.cpp ggml-tiny.bin"]).toMatchObject({
      kind: "stt",
      source: "hugging-face",
    });

    // The vision models are named with the reason; the README, later split parts, broken links,
    // bad manifests, missing blobs, PyTorch weights and datasets are passed over in silence.
    expect(scan.skipped.map((s) => [s.name, s.source])).toEqual([
      ["lmstudio-community/Qwen2-VL-GGUF/Qwen2-VL-Q4.gguf", "lm-studio"],
      ["someone/tuned:q8", "ollama"],
    ]);
    expect(scan.skipped[0]!.reason).toMatch(/"qwen2vl" model, which uses multi-axis rotary positions/);
  });

  it("passes over missing, unreadable and odd folders without an error", async () => {
    const home = mkdtempSync(join(tmpdir(), "duet-found-odd-"));
    expect(await findModels({ home, env: {}, platform: "linux" })).toEqual({ models: [], skipped: [] });
    // A file where a folder should be, and (for a user other than root) a folder it may not read.
    put(join(home, ".lmstudio", "models"), Buffer.from("a file, not a folder"));
    const locked = join(home, ".cache", "lm-studio", "models", "locked");
    put(join(locked, "pub", "m.gguf"), demo);
    const { chmodSync } = await import("node:fs");
    chmodSync(locked, 0o000);
    try {
      const scan = await findModels({ home, env: {}, platform: "linux" });
      const rootCanRead = process.getuid?.() === 0;
      expect(scan.models.map((m) => m.name)).toEqual(rootCanRead ? ["locked/pub/m.gguf"] : []);
      expect(scan.skipped).toEqual([]);
    } finally {
      chmodSync(locked, 0o755);
    }
  });

  it("reads LM Studio's moved folders, HF_HOME and HF_HUB_CACHE", async () => {
    const home = mkdtempSync(join(tmpdir(), "duet-found-moved-"));
    const elsewhere = mkdtempSync(join(tmpdir(), "duet-found-elsewhere-"));
    put(
      join(home, ".lmstudio", "settings.json"),
      Buffer.from(JSON.stringify({ downloadsFolder: join(elsewhere, "lms") })),
    );
    put(join(elsewhere, "lms", "pub", "repo", "moved.gguf"), demo);
    writeFileSync(join(home, ".lmstudio-home-pointer"), `${join(elsewhere, "lmhome")}\n`);
    put(join(elsewhere, "lmhome", "models", "pub", "repo", "pointed.gguf"), demo);
    const hfHome = join(elsewhere, "hf");
    const blob = put(join(hfHome, "hub", "models--org--name", "blobs", "x"), demo);
    link(join(hfHome, "hub", "models--org--name", "snapshots", "r", "sub", "m.gguf"), blob);
    const names = async (env: NodeJS.ProcessEnv) =>
      (await findModels({ home, env, platform: "linux" })).models.map((m) => m.name).sort();
    expect(await names({ HF_HOME: hfHome })).toEqual([
      "org/name sub/m.gguf",
      "pub/repo/moved.gguf",
      "pub/repo/pointed.gguf",
    ]);
    // HF_HUB_CACHE wins over HF_HOME.
    expect(await names({ HF_HOME: hfHome, HF_HUB_CACHE: join(elsewhere, "empty") })).toEqual([
      "pub/repo/moved.gguf",
      "pub/repo/pointed.gguf",
    ]);
  });

  it("stops at its bound on folder entries, and when cancelled", async () => {
    const home = mkdtempSync(join(tmpdir(), "duet-found-bound-"));
    for (let i = 0; i < 30; i++)
      put(join(home, ".lmstudio", "models", `pub${String(i).padStart(2, "0")}`, "r", "m.gguf"), demo);
    expect((await findModels({ home, env: {}, platform: "linux" })).models).toHaveLength(30);
    const bounded = await findModels({ home, env: {}, platform: "linux", maxEntries: 40 });
    expect(bounded.models.length).toBeGreaterThan(0);
    expect(bounded.models.length).toBeLessThan(30);
    const controller = new AbortController();
    controller.abort();
    await expect(
      findModels({ home, env: {}, platform: "linux", signal: controller.signal }),
    ).rejects.toMatchObject({
      code: "aborted",
    });
  });

  it("knows each app's folders on Linux, macOS and Windows", () => {
    const roots = (platform: NodeJS.Platform, home: string, env: NodeJS.ProcessEnv = {}) =>
      modelLocations({ platform, home, env }).map((l) => `${l.source} ${l.root}`);
    expect(roots("linux", "/home/ann", { OLLAMA_MODELS: "/data/ollama" })).toEqual([
      "lm-studio /home/ann/.lmstudio/models",
      "lm-studio /home/ann/.cache/lm-studio/models",
      "ollama /data/ollama",
      "ollama /home/ann/.ollama/models",
      "ollama /usr/share/ollama/.ollama/models",
      "jan /home/ann/.local/share/Jan/data/llamacpp/models",
      "jan /home/ann/.local/share/Jan/data/models",
      "jan /home/ann/jan/models",
      "hugging-face /home/ann/.cache/huggingface/hub",
    ]);
    expect(roots("darwin", "/Users/ann")).toEqual([
      "lm-studio /Users/ann/.lmstudio/models",
      "lm-studio /Users/ann/.cache/lm-studio/models",
      "ollama /Users/ann/.ollama/models",
      "jan /Users/ann/Library/Application Support/Jan/data/llamacpp/models",
      "jan /Users/ann/Library/Application Support/Jan/data/models",
      "jan /Users/ann/jan/models",
      "hugging-face /Users/ann/.cache/huggingface/hub",
    ]);
    expect(
      roots("win32", "C:\\Users\\ann", { APPDATA: "C:\\Users\\ann\\AppData\\Roaming", HF_HOME: "D:\\hf" }),
    ).toEqual([
      "lm-studio C:\\Users\\ann\\.lmstudio\\models",
      "lm-studio C:\\Users\\ann\\.cache\\lm-studio\\models",
      "ollama C:\\Users\\ann\\.ollama\\models",
      "jan C:\\Users\\ann\\AppData\\Roaming\\Jan\\data\\llamacpp\\models",
      "jan C:\\Users\\ann\\AppData\\Roaming\\Jan\\data\\models",
      "jan C:\\Users\\ann\\jan\\models",
      "hugging-face D:\\hf\\hub",
    ]);
  });
});
