import { existsSync, mkdtempSync } from "node:fs";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  catalog,
  llmMemoryBytes,
  resolveDownloadUrl,
  type CatalogEntry,
} from "../../../src/engine/models/catalog.js";
import { ModelManager } from "../../../src/engine/models/manager.js";
import { recommendSetup } from "../../../src/engine/models/recommend.js";
import { validateModelPath } from "../../../src/engine/models/validate.js";
import { SettingsStore } from "../../../src/engine/settings/store.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { sha1, startFileServer, type TestServer } from "../../helpers/fileServer.js";
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
beforeAll(async () => {
  demoBytes = await readFile(await tinyModelPath({ program: DEMO_PROGRAM }));
  vlBytes = await readFile(await tinyModelPath({ architectureName: "qwen2vl", seed: 51 }));
  server = await startFileServer({
    "/models/demo.gguf": { body: demoBytes },
    "/models/vl.gguf": { body: vlBytes },
    "/whisper/ggml-test.bin": { body: whisperHeader() },
  });
});
afterAll(async () => server.close());

/** A reasoning model served by the test server under /models/. */
function llmEntry(id: string, name: string, fileName: string, sizeBytes: number): CatalogEntry {
  return {
    id,
    name,
    kind: "llm",
    fileName,
    uri: `${server.url}/models/${fileName}`,
    sizeBytes,
    digest: null,
    verified: false,
    license: "MIT",
    contextLength: 4096,
    promptFamily: "qwen3",
    shape: { layers: 1, kvHeads: 4, headDim: 32 },
    description: "test",
  };
}

function entries(): CatalogEntry[] {
  return [
    llmEntry("demo-llm", "Demo LLM", "demo.gguf", demoBytes.length),
    llmEntry("vl-llm", "Vision model", "vl.gguf", vlBytes.length),
    {
      id: "whisper-test",
      name: "Whisper test",
      kind: "stt",
      fileName: "ggml-test.bin",
      uri: `${server.url}/whisper/ggml-test.bin`,
      sizeBytes: whisperHeader().length,
      digest: { algorithm: "sha1", value: sha1(whisperHeader()) },
      verified: true,
      license: "MIT",
      description: "test",
    },
  ];
}

async function manager() {
  const dir = mkdtempSync(join(tmpdir(), "duet-models-"));
  const settings = await SettingsStore.open(join(dir, "data"));
  return {
    dir,
    settings,
    manager: new ModelManager({
      folder: join(dir, "models"),
      settings,
      entries: entries(),
      downloadDefaults: { backoffMs: 10, freeBytes: async () => 1e12 },
    }),
  };
}

describe("the model manager", () => {
  it("downloads, validates, lists, verifies and removes catalog models", async () => {
    const { manager: m } = await manager();
    expect((await m.list()).filter((s) => s.installed)).toHaveLength(0);
    const llm = await m.download("demo-llm");
    expect(llm).toMatchObject({ installed: true, kind: "llm" });
    const stt = await m.download("whisper-test");
    expect(stt.installed).toBe(true);
    expect((await m.verify()).every((r) => r.ok)).toBe(true);

    // Corruption after download is caught by the recorded sha256.
    const bytes = await readFile(llm.path);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(llm.path, bytes);
    const verify = await m.verify();
    expect(verify.find((r) => r.id === "demo-llm")).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/changed since it was downloaded/),
    });

    await m.remove("demo-llm");
    expect((await m.list()).find((s) => s.id === "demo-llm")!.installed).toBe(false);
    await expect(m.download("no-such-model")).rejects.toThrow(/Unknown model "no-such-model"/);
  });

  it("refuses a downloaded model the engine cannot run, naming the architecture", async () => {
    const { manager: m } = await manager();
    await expect(m.download("vl-llm")).rejects.toMatchObject({
      code: "unsupported-rope",
      message: expect.stringMatching(/qwen2vl/),
    });
  });

  it("imports local files after checking them, and forgets (not deletes) them on remove", async () => {
    const { dir, manager: m, settings } = await manager();
    const status = await m.import(await tinyModelPath({ program: DEMO_PROGRAM }));
    expect(status).toMatchObject({ source: "imported", kind: "llm", installed: true });
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
  it("is valid data with every kind, LLM shapes, and published whisper checksums", () => {
    const models = catalog();
    for (const kind of ["llm", "stt", "tts", "vad"]) expect(models.some((m) => m.kind === kind)).toBe(true);
    expect(models.filter((m) => m.kind === "llm").map((m) => m.id)).toEqual(
      expect.arrayContaining(["qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "qwen3-14b"]),
    );
    for (const m of models.filter((e) => e.verified)) expect(m.digest).not.toBeNull();
    expect(models.find((m) => m.id === "whisper-base.en")!.digest).toEqual({
      algorithm: "sha1",
      value: "137c40403d78fd54d454da0f9bd998f78703390c",
    });
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
});
