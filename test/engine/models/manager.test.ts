import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  catalog,
  findCatalogEntry,
  llmMemoryBytes,
  parseCatalog,
  resolveDownloadUrl,
  type CatalogEntry,
} from "../../../src/engine/models/catalog.js";
import { ModelManager } from "../../../src/engine/models/manager.js";
import { recommendSetup } from "../../../src/engine/models/recommend.js";
import { validateModelPath } from "../../../src/engine/models/validate.js";
import { SettingsStore } from "../../../src/engine/settings/store.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { SILERO_MODEL_FILE } from "../../../src/engine/speech/vad.js";
import { bytes, sha256, startFileServer, type TestServer } from "../../helpers/fileServer.js";
import { tinyModelPath } from "../../helpers/models.js";
import type { HardwareInfo } from "../../../src/engine/llama/hardware.js";

/** A whisper.cpp ggml header with plausible hyper-parameters (base.en's), enough for validation. */
function whisperHeader(): Buffer {
  const header = Buffer.alloc(48 + 1000);
  header.writeUInt32LE(0x67676d6c, 0);
  [51864, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1].forEach((v, i) => header.writeInt32LE(v, 4 + i * 4));
  return header;
}

let server: TestServer;
let demoBytes: Buffer;
let vlBytes: Buffer;
let sileroTarball: Buffer;
let voiceTarball: Buffer;
let brokenVoiceTarball: Buffer;
const FAKE_ONNX = Buffer.concat([Buffer.from([0x08, 0x07]), bytes(4000, 3)]);

/** A gzipped or bzipped tar of `files` (path inside the archive → bytes), made with the system's tar. */
function tarball(files: Record<string, Buffer>, compress: "z" | "j"): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "duet-tar-"));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  const out = join(dir, "archive");
  execFileSync("tar", [`-c${compress}f`, out, "-C", dir, ...Object.keys(files)]);
  return readFileSync(out);
}

beforeAll(async () => {
  demoBytes = await readFile(await tinyModelPath({ program: DEMO_PROGRAM }));
  vlBytes = await readFile(await tinyModelPath({ architectureName: "qwen2vl", seed: 51 }));
  sileroTarball = tarball(
    { "package/README.md": Buffer.from("vad"), "package/dist/silero_vad_v5.onnx": FAKE_ONNX },
    "z",
  );
  voiceTarball = tarball(
    { "vits-test/model.onnx": FAKE_ONNX, "vits-test/tokens.txt": Buffer.from("a 1\n") },
    "j",
  );
  brokenVoiceTarball = tarball({ "vits-test/model.onnx": FAKE_ONNX }, "j");
  server = await startFileServer({
    "/models/demo.gguf": { body: demoBytes },
    "/models/vl.gguf": { body: vlBytes },
    "/models/wrong.gguf": { body: vlBytes },
    "/whisper/ggml-test.bin": { body: whisperHeader() },
    "/npm/vad.tgz": { body: sileroTarball },
    "/voices/vits-test.tar.bz2": { body: voiceTarball },
    "/voices/broken.tar.bz2": { body: brokenVoiceTarball },
  });
});
afterAll(async () => server.close());

/** A reasoning model served by the test server under /models/. */
function llmEntry(id: string, name: string, fileName: string, body: Buffer, served = fileName): CatalogEntry {
  return {
    id,
    name,
    kind: "llm",
    fileName,
    uri: `${server.url}/models/${served}`,
    sizeBytes: body.length,
    sha256: sha256(body),
    license: "MIT",
    contextLength: 4096,
    promptFamily: "qwen3",
    shape: { layers: 1, kvHeads: 4, headDim: 32 },
    description: "test",
  };
}

function entries(): CatalogEntry[] {
  return [
    llmEntry("demo-llm", "Demo LLM", "demo.gguf", demoBytes),
    llmEntry("vl-llm", "Vision model", "vl.gguf", vlBytes),
    // The server answers with another file of the same size: a proxy that rewrote it.
    {
      ...llmEntry("wrong-llm", "Wrong", "wrong-target.gguf", demoBytes, "wrong.gguf"),
      sizeBytes: vlBytes.length,
    },
    {
      id: "whisper-test",
      name: "Whisper test",
      kind: "stt",
      fileName: "ggml-test.bin",
      uri: `${server.url}/whisper/ggml-test.bin`,
      sizeBytes: whisperHeader().length,
      sha256: sha256(whisperHeader()),
      license: "MIT",
      description: "test",
    },
    {
      id: "vad-test",
      name: "VAD test",
      kind: "vad",
      fileName: "vad.tgz",
      uri: `${server.url}/npm/vad.tgz`,
      sizeBytes: sileroTarball.length,
      sha256: sha256(sileroTarball),
      license: "MIT",
      archive: {
        format: "tgz",
        member: "package/dist/silero_vad_v5.onnx",
        installAs: "silero_vad.onnx",
        sizeBytes: FAKE_ONNX.length,
        sha256: sha256(FAKE_ONNX),
      },
      description: "test",
    },
    {
      id: "voice-test",
      name: "Voice test",
      kind: "tts",
      fileName: "vits-test.tar.bz2",
      uri: `${server.url}/voices/vits-test.tar.bz2`,
      sizeBytes: voiceTarball.length,
      sha256: sha256(voiceTarball),
      license: "MIT",
      archive: { format: "tar.bz2" },
      description: "test",
    },
    {
      id: "broken-voice",
      name: "Broken voice",
      kind: "tts",
      fileName: "vits-test.tar.bz2",
      uri: `${server.url}/voices/broken.tar.bz2`,
      sizeBytes: brokenVoiceTarball.length,
      sha256: sha256(brokenVoiceTarball),
      license: "MIT",
      archive: { format: "tar.bz2" },
      description: "test",
    },
  ];
}

async function manager(list: CatalogEntry[] = entries()) {
  const dir = mkdtempSync(join(tmpdir(), "duet-models-"));
  const settings = await SettingsStore.open(join(dir, "data"));
  return {
    dir,
    folder: join(dir, "models"),
    settings,
    manager: new ModelManager({
      folder: join(dir, "models"),
      settings,
      entries: list,
      downloadDefaults: { backoffMs: 10, freeBytes: async () => 1e12 },
    }),
  };
}

const installed = async (m: ModelManager) => (await m.list()).filter((s) => s.installed).map((s) => s.id);

describe("the model manager", () => {
  it("downloads, checks, lists, verifies and removes catalog models", async () => {
    const { manager: m, folder } = await manager();
    expect(await installed(m)).toEqual([]);
    const phases: string[] = [];
    const llm = await m.download("demo-llm", { onProgress: (p) => phases.push(p.phase) });
    expect(llm).toMatchObject({
      installed: true,
      verified: true,
      kind: "llm",
      path: join(folder, "demo.gguf"),
    });
    expect(phases[0]).toBe("connecting");
    expect(phases).toContain("verifying");
    expect(JSON.parse(readFileSync(join(folder, "demo.gguf.sha256"), "utf8"))).toEqual({
      sha256: sha256(demoBytes),
      checkedAgainst: "catalog",
    });
    const stt = await m.download("whisper-test");
    expect(stt.installed).toBe(true);
    expect(await m.verify()).toEqual([
      { id: "demo-llm", path: llm.path, ok: true, checkedAgainst: "catalog" },
      { id: "whisper-test", path: stt.path, ok: true, checkedAgainst: "catalog" },
    ]);

    // Damage after the download is caught against the catalog's checksum, and the file no longer counts.
    const damaged = await readFile(llm.path);
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 0xff;
    await writeFile(llm.path, damaged);
    expect((await m.verify()).find((r) => r.id === "demo-llm")).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^its sha256 is [0-9a-f]{64}, not the published [0-9a-f]{64}/),
    });
    await truncate(llm.path, 100);
    expect((await m.list()).find((s) => s.id === "demo-llm")).toMatchObject({
      installed: false,
      problem: expect.stringMatching(/demo\.gguf is in the models folder but has not been checked/),
    });

    await m.remove("demo-llm");
    for (const name of ["demo.gguf", "demo.gguf.sha256"]) expect(existsSync(join(folder, name))).toBe(false);
    expect((await m.list()).find((s) => s.id === "demo-llm")).toMatchObject({ installed: false });
    await expect(m.download("no-such-model")).rejects.toThrow(/Unknown model "no-such-model"/);
  });

  it("never installs a wrong body: nothing gets the final name, and the list does not show it", async () => {
    const { manager: m, folder } = await manager();
    await expect(m.download("wrong-llm")).rejects.toMatchObject({ reason: "checksum" });
    expect(readdirSync(folder)).toEqual([]);
    expect((await m.list()).find((s) => s.id === "wrong-llm")).toMatchObject({
      installed: false,
      verified: false,
    });
    expect((await m.list()).find((s) => s.id === "wrong-llm")!.problem).toBeUndefined();
  });

  it("refuses a downloaded model the engine cannot run, naming the architecture, and leaves nothing behind", async () => {
    const { manager: m, folder } = await manager();
    await expect(m.download("vl-llm")).rejects.toMatchObject({
      code: "unsupported-rope",
      message: expect.stringMatching(/qwen2vl/),
    });
    expect(readdirSync(folder)).toEqual([]);
  });

  it("counts a file copied into the folder by hand only once verify has proven it against the catalog", async () => {
    const { manager: m, folder } = await manager();
    mkdirSync(folder, { recursive: true });
    await writeFile(join(folder, "demo.gguf"), demoBytes);
    // An older Duet recorded the hash of whatever it downloaded: that proves nothing.
    await writeFile(join(folder, "wrong-target.gguf"), vlBytes);
    await writeFile(join(folder, "wrong-target.gguf.sha256"), `${sha256(vlBytes)}\n`);
    const before = await m.list();
    expect(before.find((s) => s.id === "demo-llm")).toMatchObject({
      installed: false,
      problem: expect.stringMatching(/run "npm run models -- verify"/),
    });
    expect(before.find((s) => s.id === "wrong-llm")).toMatchObject({ installed: false });
    expect(await installed(m)).toEqual([]);
    const results = await m.verify();
    expect(results.find((r) => r.id === "demo-llm")).toEqual({
      id: "demo-llm",
      path: join(folder, "demo.gguf"),
      ok: true,
      checkedAgainst: "catalog",
    });
    expect(results.find((r) => r.id === "wrong-llm")).toMatchObject({ ok: false });
    expect(await installed(m)).toEqual(["demo-llm"]);
    // A receipt from an older Duet that matches the catalog counts.
    await writeFile(join(folder, "demo.gguf.sha256"), `${sha256(demoBytes)}\n`);
    expect(await installed(m)).toEqual(["demo-llm"]);
  });

  it("installs the one member of a package tarball, checked against its own checksum", async () => {
    const { manager: m, folder } = await manager();
    const vad = await m.download("vad-test");
    expect(vad).toMatchObject({ installed: true, path: join(folder, "silero_vad.onnx") });
    expect((await readFile(vad.path)).equals(FAKE_ONNX)).toBe(true);
    expect(readdirSync(folder).sort()).toEqual(["silero_vad.onnx", "silero_vad.onnx.sha256"]);
    expect((await m.verify()).find((r) => r.id === "vad-test")).toMatchObject({
      ok: true,
      checkedAgainst: "catalog",
    });
    await m.remove("vad-test");
    expect(readdirSync(folder)).toEqual([]);

    const tampered = entries().find((e) => e.id === "vad-test")!;
    const wrongMember = {
      ...tampered,
      archive: { ...tampered.archive!, sha256: "0".repeat(64) } as CatalogEntry["archive"],
    };
    const { manager: strict, folder: strictFolder } = await manager([wrongMember]);
    await expect(strict.download("vad-test")).rejects.toMatchObject({
      reason: "checksum",
      message: expect.stringMatching(
        /package\/dist\/silero_vad_v5\.onnx in vad\.tgz is not the expected file/,
      ),
    });
    expect(readdirSync(strictFolder)).toEqual([]);
    const missing = {
      ...tampered,
      archive: { ...tampered.archive!, member: "package/nope.onnx" } as CatalogEntry["archive"],
    };
    const { manager: noMember } = await manager([missing]);
    await expect(noMember.download("vad-test")).rejects.toThrow(/does not contain package\/nope\.onnx/);
  });

  it("unpacks a voice archive only after checking it, into place in one step", async () => {
    const { manager: m, folder } = await manager();
    const voice = await m.download("voice-test");
    expect(voice).toMatchObject({ installed: true, path: join(folder, "vits-test") });
    expect(readdirSync(voice.path).sort()).toEqual(["model.onnx", "tokens.txt"]);
    expect(readdirSync(folder).sort()).toEqual(["vits-test", "vits-test.sha256"]);
    expect((await m.verify()).find((r) => r.id === "voice-test")).toMatchObject({ ok: true });
    await m.remove("voice-test");
    expect(readdirSync(folder)).toEqual([]);

    await expect(m.download("broken-voice")).rejects.toThrow(/needs an \.onnx model and tokens\.txt/);
    expect(readdirSync(folder)).toEqual([]);
  });

  it("imports local files after checking them, and forgets (not deletes) them on remove", async () => {
    const { dir, manager: m, settings } = await manager();
    const status = await m.import(await tinyModelPath({ program: DEMO_PROGRAM }));
    expect(status).toMatchObject({ source: "imported", kind: "llm", installed: true, verified: false });
    expect(settings.get().models.imported).toHaveLength(1);
    const whisper = join(dir, "my-whisper.bin");
    await writeFile(whisper, whisperHeader());
    expect((await m.import(whisper)).kind).toBe("stt");

    const cut = join(dir, "cut.gguf");
    await writeFile(cut, (await readFile(await tinyModelPath({ program: DEMO_PROGRAM }))).subarray(0, 4000));
    await expect(m.import(cut)).rejects.toMatchObject({ code: "gguf-truncated" });
    await expect(
      m.import(await tinyModelPath({ architectureName: "mamba", seed: 52 })),
    ).rejects.toMatchObject({ code: "unsupported-rope" });
    const notAModel = join(dir, "notes.txt");
    await writeFile(notAModel, "hello");
    await expect(m.import(notAModel)).rejects.toThrow(/not a model Duet can use/);
    const badWhisper = join(dir, "bad-whisper.bin");
    const header = whisperHeader();
    header.writeInt32LE(-5, 4);
    await writeFile(badWhisper, header);
    await expect(validateModelPath(badWhisper)).rejects.toThrow(/implausible/);

    expect((await m.verify()).find((r) => r.path === status.path)).toMatchObject({
      ok: true,
      checkedAgainst: "header",
    });
    await m.remove(status.path);
    expect(settings.get().models.imported).toHaveLength(1);
    // Forgetting an imported model leaves the user's file where it was.
    expect(existsSync(status.path)).toBe(true);
    // An imported file that gets damaged fails verification (and does not break the others).
    await truncate(whisper, 10);
    expect((await m.verify()).find((r) => r.path === whisper)).toMatchObject({ ok: false });
  });

  it("uses the mirror base URL for Hugging Face downloads", () => {
    const uri = "https://huggingface.co/Qwen/Qwen3-4B-GGUF/resolve/main/Qwen3-4B-Q4_K_M.gguf";
    expect(resolveDownloadUrl(uri, "https://hf-mirror.example/")).toBe(
      "https://hf-mirror.example/Qwen/Qwen3-4B-GGUF/resolve/main/Qwen3-4B-Q4_K_M.gguf",
    );
    expect(resolveDownloadUrl("https://github.com/x/y", "https://m.example")).toBe("https://github.com/x/y");
    expect(resolveDownloadUrl(uri, null)).toBe(uri);
  });
});

describe("the catalog and recommendations", () => {
  it("pins every entry to a version with the publisher's exact size and sha256", () => {
    const models = catalog();
    for (const kind of ["llm", "stt", "tts", "vad"]) expect(models.some((m) => m.kind === kind)).toBe(true);
    expect(models.filter((m) => m.kind === "llm").map((m) => m.id)).toEqual(
      expect.arrayContaining(["qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "qwen3-14b"]),
    );
    for (const m of models) {
      expect(m.sha256, m.id).toMatch(/^[0-9a-f]{64}$/);
      if (m.uri.startsWith("https://huggingface.co/")) expect(m.uri).toMatch(/\/resolve\/[0-9a-f]{40}\//);
    }
    expect(models.find((m) => m.id === "qwen3-0.6b")).toMatchObject({
      uri: "https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/23749fefcc72300e3a2ad315e1317431b06b590a/Qwen3-0.6B-Q8_0.gguf",
      sizeBytes: 639446688,
      sha256: "9465e63a22add5354d9bb4b99e90117043c7124007664907259bd16d043bb031",
    });
    expect(models.find((m) => m.id === "whisper-base.en")).toMatchObject({
      sizeBytes: 147964211,
      sha256: "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002",
    });
  });

  it("gets Silero VAD from the published npm tarball, installed where the app and talk look for it", () => {
    expect(findCatalogEntry("silero-vad")).toMatchObject({
      kind: "vad",
      uri: "https://registry.npmjs.org/@ricky0123/vad-web/-/vad-web-0.0.31.tgz",
      sizeBytes: 5471324,
      sha256: "d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940",
      archive: {
        format: "tgz",
        member: "package/dist/silero_vad_v5.onnx",
        installAs: SILERO_MODEL_FILE,
        sha256: "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f",
      },
    });
  });

  it("refuses catalogs with an unpinned Hugging Face address, a repeated id or a bad checksum, in words", () => {
    const good = catalog()[0]!;
    expect(() =>
      parseCatalog(
        { models: [{ ...good, uri: good.uri.replace(/resolve\/[0-9a-f]{40}/, "resolve/main") }] },
        "x.json",
      ),
    ).toThrow(/x\.json: model qwen3-0\.6b: a Hugging Face address must name a commit/);
    expect(() => parseCatalog({ models: [good, good] }, "x.json")).toThrow(/the id is used twice/);
    expect(() => parseCatalog({ models: [{ ...good, sha256: "abc" }] }, "x.json")).toThrow(
      /x\.json is not a valid model catalog: models\.0\.sha256 must be 64 lowercase hex digits/,
    );
    expect(() => parseCatalog({ models: [{ ...good, shape: undefined }] }, "x.json")).toThrow(/needs shape/);
  });

  it("reads the catalog DUET_CATALOG names instead of the built-in one", () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-catalog-"));
    const file = join(dir, "catalog.json");
    const mine = { ...catalog()[0]!, id: "my-model" };
    writeFileSync(file, JSON.stringify({ models: [mine] }));
    const saved = process.env.DUET_CATALOG;
    try {
      process.env.DUET_CATALOG = file;
      expect(catalog().map((m) => m.id)).toEqual(["my-model"]);
      process.env.DUET_CATALOG = join(dir, "missing.json");
      expect(() => catalog()).toThrow(/DUET_CATALOG names .*missing\.json, which could not be read/);
    } finally {
      if (saved === undefined) delete process.env.DUET_CATALOG;
      else process.env.DUET_CATALOG = saved;
    }
    expect(catalog().some((m) => m.id === "qwen3-0.6b")).toBe(true);
  });

  const machine = (gpus: HardwareInfo["gpus"], ramGb = 16): HardwareInfo => ({
    platform: "linux",
    arch: "x64",
    cpuModel: "test",
    cpuThreads: 8,
    ramBytes: ramGb * 1e9,
    freeRamBytes: ramGb * 5e8,
    gpus,
  });

  it("picks the largest model that fits the GPU, or half the RAM on CPU", () => {
    const big = recommendSetup(
      machine([
        { backend: "cuda", usable: true, vramBytes: 24e9, freeVramBytes: 23e9, devices: ["RTX 4090"] },
      ]),
    );
    expect(big).toMatchObject({ gpu: "cuda", gpuLayers: "max", fits: true });
    expect(big.llm.id).toBe("qwen3-14b");
    expect(big.reason).toMatch(/CUDA GPU \(RTX 4090\)/);
    const mid = recommendSetup(
      machine([{ backend: "vulkan", usable: true, vramBytes: 6e9, freeVramBytes: 5.5e9 }]),
    );
    expect(mid.llm.id).toMatch(/qwen3-4b/);
    expect(llmMemoryBytes(mid.llm, 4096)).toBeLessThanOrEqual(mid.budgetBytes);
    const cpu = recommendSetup(machine([{ backend: "cuda", usable: false, problem: "no driver" }], 8));
    expect(cpu).toMatchObject({ gpu: "cpu", gpuLayers: 0 });
    expect(cpu.llm.id).toBe("qwen3-1.7b");
    const tiny = recommendSetup(machine([], 1));
    expect(tiny).toMatchObject({ fits: false });
    expect(tiny.reason).toMatch(/expect it to be slow/);
  });

  it("recommends and badges only what answers at speaking pace: the cores count, not just the memory", () => {
    const laptop = (cpuThreads: number): HardwareInfo => ({ ...machine([], 32), cpuThreads });
    // A 2-core CPU without a GPU has memory for every model but speed for the smallest only.
    const small = recommendSetup(laptop(2));
    expect(small.llm.id).toBe("qwen3-0.6b");
    expect(small.fits).toBe(true);
    expect(small.estimates.filter((e) => e.speakingPace).map((e) => e.id)).toEqual(["qwen3-0.6b"]);
    expect(small.estimates.find((e) => e.id === "qwen3-14b")).toMatchObject({
      fitsMemory: true,
      speakingPace: false,
      runsOn: "CPU",
    });
    expect(small.estimates.find((e) => e.id === "qwen3-14b")!.wordsPerSecond).toBeLessThan(0.5);
    expect(small.reason).toMatch(
      /^Qwen3 0\.6B .* speaking pace on the CPU \(2 CPU threads, no usable GPU\): about [\d.]+ words a second/,
    );
    // Twice the cores (with two threads each): the 1.7B keeps up too.
    expect(recommendSetup(laptop(8)).llm.id).toBe("qwen3-1.7b");
    // One slow core: nothing keeps up; the fastest that fits, said plainly.
    const slow = recommendSetup(laptop(1));
    expect(slow).toMatchObject({ fits: false, llm: { id: "qwen3-0.6b" } });
    expect(slow.reason).toMatch(/slower than people speak/);
    // A GPU: everything that fits its memory keeps up.
    const gpu = recommendSetup(
      machine([
        { backend: "cuda", usable: true, vramBytes: 24e9, freeVramBytes: 23e9, devices: ["RTX 4090"] },
      ]),
    );
    expect(gpu.estimates.every((e) => e.speakingPace)).toBe(true);
  });
});
