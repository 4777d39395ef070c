import { open, truncate, writeFile, copyFile } from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";
import { float16BitsToFloat32, float32ToFloat16Bits } from "../../../src/engine/gguf/float16.js";
import {
  MAX_HEADER_BYTES,
  MAX_STRING_BYTES,
  readGgufFile,
  metadataNumber,
  metadataString,
} from "../../../src/engine/gguf/reader.js";
import { GgmlType, GgufValueType } from "../../../src/engine/gguf/types.js";
import { gguf, writeGgufFile } from "../../../src/engine/gguf/writer.js";
import { isDuetError } from "../../../src/engine/errors.js";
import { scratchPath, tinyModelPath } from "../../helpers/models.js";

describe("GGUF writer and reader", () => {
  it("round-trips metadata of every written type and the tensor table", async () => {
    const path = scratchPath("roundtrip.gguf");
    await writeGgufFile(path, {
      metadata: [
        ["general.architecture", gguf.string("llama")],
        ["x.count", gguf.u32(7)],
        ["x.signed", gguf.i32(-3)],
        ["x.float", gguf.f32(0.5)],
        ["x.flag", gguf.bool(true)],
        ["x.words", gguf.strings(["a", "ünï", ""])],
        ["x.ints", gguf.i32s([1, -2, 3])],
      ],
      tensors: [
        { name: "a", dims: [32, 2], type: GgmlType.F32, data: () => [new Float32Array(64).fill(1)] },
        { name: "b", dims: [64], type: GgmlType.Q8_0, data: () => [new Float32Array(64).fill(0.25)] },
        { name: "c", dims: [3], type: GgmlType.F16, data: () => [Float32Array.of(1, 2, 3)] },
      ],
    });
    const file = await readGgufFile(path);
    expect(file.version).toBe(3);
    expect(metadataString(file, "general.architecture")).toBe("llama");
    expect(metadataNumber(file, "x.count")).toBe(7);
    expect(file.metadata.get("x.signed")).toBe(-3);
    expect(file.metadata.get("x.float")).toBeCloseTo(0.5);
    expect(file.metadata.get("x.flag")).toBe(true);
    expect(file.metadata.get("x.words")).toEqual(["a", "ünï", ""]);
    expect(file.metadata.get("x.ints")).toEqual([1, -2, 3]);
    expect(file.tensors.map((t) => [t.name, t.dims, t.type, t.bytes])).toEqual([
      ["a", [32, 2], GgmlType.F32, 256],
      ["b", [64], GgmlType.Q8_0, 68],
      ["c", [3], GgmlType.F16, 6],
    ]);
    // Tensor data starts aligned to 32 bytes and each tensor is aligned after the previous one.
    expect(file.dataOffset % 32).toBe(0);
    expect(file.tensors[1]!.offset).toBe(256);
    expect(file.tensors[2]!.offset).toBe(352); // 256 + 68, aligned up to 32
  });

  it("summarises long arrays by their length unless asked to keep them", async () => {
    const path = await tinyModelPath({ seed: 3 });
    const summary = await readGgufFile(path);
    const tokens = summary.metadata.get("tokenizer.ggml.tokens");
    expect(tokens).toMatchObject({ arrayLength: expect.any(Number) });
    const full = await readGgufFile(path, { keepArrayKeys: ["tokenizer.ggml.tokens"] });
    const list = full.metadata.get("tokenizer.ggml.tokens") as string[];
    expect(list.length).toBe((tokens as { arrayLength: number }).arrayLength);
    expect(list).toContain("<|im_start|>");
  });

  it("rejects a missing file, a wrong magic, an unknown version and a truncated file with clear codes", async () => {
    await expect(readGgufFile("/nonexistent/model.gguf")).rejects.toMatchObject({ code: "model-not-found" });

    const notGguf = scratchPath("not.gguf");
    await writeFile(notGguf, "PK\u0003\u0004 this is a zip file, not a model");
    await expect(readGgufFile(notGguf)).rejects.toMatchObject({
      code: "gguf-bad-magic",
      message: expect.stringContaining("GGUF"),
    });

    const empty = scratchPath("empty.gguf");
    await writeFile(empty, "");
    await expect(readGgufFile(empty)).rejects.toMatchObject({ code: "gguf-bad-magic" });

    const future = scratchPath("v9.gguf");
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0x46554747, 0);
    header.writeUInt32LE(9, 4);
    await writeFile(future, header);
    await expect(readGgufFile(future)).rejects.toMatchObject({ code: "gguf-unsupported-version" });

    const model = await tinyModelPath({ seed: 3 });
    const cut = scratchPath("cut.gguf");
    await copyFile(model, cut);
    const size = (await (await open(cut)).stat()).size;
    await truncate(cut, Math.floor(size * 0.9));
    const error = await readGgufFile(cut).catch((e: unknown) => e);
    expect(isDuetError(error, "gguf-truncated")).toBe(true);
    expect((error as Error).message).toMatch(/truncated/);

    // Cut inside the header: the metadata itself is incomplete.
    await truncate(cut, 100);
    await expect(readGgufFile(cut)).rejects.toMatchObject({ code: "gguf-truncated" });
  });
});

/** A GGUF header: magic, version 3, the counts, then `rest` (metadata entries). */
function header(tensors: bigint, entries: bigint, ...rest: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0x46554747, 0);
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(tensors, 8);
  head.writeBigUInt64LE(entries, 16);
  return Buffer.concat([head, ...rest]);
}
const u32 = (v: number) => Buffer.from(Uint32Array.of(v).buffer);
const u64 = (v: bigint) => Buffer.from(BigUint64Array.of(v).buffer);
const ggufString = (text: string) => Buffer.concat([u64(BigInt(Buffer.byteLength(text))), Buffer.from(text)]);

/** Writes `head` at the start of a sparse file of `size` bytes (no disk space used for the rest). */
async function hostile(name: string, head: Buffer, size: number): Promise<string> {
  const path = scratchPath(name);
  await writeFile(path, head);
  await truncate(path, size);
  return path;
}

/** Runs `read` and returns its error and the largest buffer the reader asked for meanwhile. */
async function largestAllocation(read: () => Promise<unknown>): Promise<{ error: unknown; largest: number }> {
  const alloc = vi.spyOn(Buffer, "alloc");
  try {
    const error = await read().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, largest: Math.max(0, ...alloc.mock.calls.map(([size]) => size)) };
  } finally {
    alloc.mockRestore();
  }
}

describe("hostile GGUF headers", () => {
  it("refuses a string length beyond any real model at once, naming the file, without reading the file", async () => {
    // A 2 GiB file whose first key claims to be 1 GiB long (under the old limit, which read it all).
    const path = await hostile(
      "huge-string.gguf",
      header(0n, 1n, u64(2n ** 30n - 1n), Buffer.from("x")),
      2 * 2 ** 30,
    );
    const { error, largest } = await largestAllocation(() => readGgufFile(path));
    expect(error).toMatchObject({
      code: "gguf-corrupt",
      message: `${path} is damaged: the length of a string is ${2 ** 30 - 1}, more than the ${MAX_STRING_BYTES} any real model has.`,
    });
    expect(largest).toBeLessThanOrEqual(2 ** 20);
  });

  it("bounds every length by the bytes left in the file", async () => {
    const shortString = await hostile(
      "past-end.gguf",
      header(0n, 1n, u64(5_000_000n), Buffer.from("abc")),
      4096,
    );
    const { error, largest } = await largestAllocation(() => readGgufFile(shortString));
    expect(error).toMatchObject({
      code: "gguf-truncated",
      message: expect.stringMatching(
        /past-end\.gguf is truncated or damaged: the length of a string is 5000000, which cannot fit in the \d+ bytes left/,
      ),
    });
    expect(largest).toBeLessThanOrEqual(4096);
    const array = await hostile(
      "huge-array.gguf",
      header(
        0n,
        1n,
        ggufString("tokenizer.ggml.scores"),
        u32(GgufValueType.ARRAY),
        u32(GgufValueType.FLOAT32),
        u64(2n ** 27n),
      ),
      1_000_000,
    );
    await expect(readGgufFile(array)).rejects.toMatchObject({
      code: "gguf-truncated",
      message: expect.stringMatching(
        /the length of array tokenizer\.ggml\.scores is 134217728, which cannot fit/,
      ),
    });
    const counts = await hostile("counts.gguf", header(1n << 20n, 0n), 4096);
    await expect(readGgufFile(counts)).rejects.toMatchObject({
      code: "gguf-truncated",
      message: expect.stringMatching(/the tensor count is 1048576/),
    });
    const tooMany = await hostile("too-many.gguf", header(0n, 1n << 40n), 4096);
    await expect(readGgufFile(tooMany)).rejects.toMatchObject({
      code: "gguf-corrupt",
      message: expect.stringMatching(/too-many\.gguf is damaged: the metadata count is 1099511627776/),
    });
  });

  it("refuses an array of an unknown type and a header larger than any real model's", async () => {
    const unknownType = await hostile(
      "array-type.gguf",
      header(0n, 1n, ggufString("k"), u32(GgufValueType.ARRAY), u32(99), u64(1n)),
      4096,
    );
    await expect(readGgufFile(unknownType)).rejects.toMatchObject({
      code: "gguf-corrupt",
      message: `${unknownType} is damaged: array k has unknown item type 99.`,
    });
    // Many strings of 15 MiB each (each one plausible) make a header over the limit: it stops there.
    const big = 15 * 2 ** 20;
    const entries = Array.from({ length: 10 }, (_, i) => [
      ggufString(`key.${i}`),
      u32(GgufValueType.STRING),
      u64(BigInt(big)),
    ]);
    const path = scratchPath("huge-header.gguf");
    const file = await open(path, "w");
    try {
      let at = 0;
      const write = async (b: Buffer) => {
        await file.write(b, 0, b.length, at);
        at += b.length;
      };
      await write(header(0n, 10n));
      for (const [key, type, length] of entries) {
        await write(Buffer.concat([key!, type!, length!]));
        at += big; // the string's bytes: a hole in the sparse file
      }
      await file.truncate(at);
    } finally {
      await file.close();
    }
    const { error, largest } = await largestAllocation(() => readGgufFile(path));
    expect(error).toMatchObject({
      code: "gguf-corrupt",
      message: `${path} is damaged or not a model Duet can read: its header is larger than 128 MiB.`,
    });
    expect(largest).toBeLessThanOrEqual(MAX_HEADER_BYTES);
  });

  it("reads a header that needs more than the first megabyte", async () => {
    const template = "x".repeat(3 * 2 ** 20);
    const path = scratchPath("long-template.gguf");
    await writeFile(
      path,
      header(
        0n,
        2n,
        ggufString("general.architecture"),
        u32(GgufValueType.STRING),
        ggufString("qwen3"),
        ggufString("tokenizer.chat_template"),
        u32(GgufValueType.STRING),
        ggufString(template),
      ),
    );
    const file = await readGgufFile(path);
    expect(metadataString(file, "tokenizer.chat_template")).toBe(template);
    expect(metadataString(file, "general.architecture")).toBe("qwen3");
  });
});

describe("float16", () => {
  it("converts exactly representable values and rounds others to nearest", () => {
    for (const v of [0, 1, -2, 0.5, 65504, -(2 ** -14), 2 ** -24])
      expect(float16BitsToFloat32(float32ToFloat16Bits(v))).toBe(v);
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 / 3))).toBeCloseTo(1 / 3, 3);
    expect(float16BitsToFloat32(float32ToFloat16Bits(1e6))).toBe(Infinity);
    expect(float16BitsToFloat32(float32ToFloat16Bits(1e-9))).toBe(0);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });
});
