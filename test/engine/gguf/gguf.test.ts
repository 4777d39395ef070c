import { mkdir, open, truncate, writeFile, copyFile } from "node:fs/promises";
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
import { ggufString, header, hostile, u32, u64 } from "../../helpers/hostileGguf.js";
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

describe("every value type and the tensor table, written by hand", () => {
  const T = GgufValueType;
  const num = (type: number, bytes: Buffer) => Buffer.concat([u32(type), bytes]);
  const b = (size: number, write: (buf: Buffer) => void) => {
    const buf = Buffer.alloc(size);
    write(buf);
    return buf;
  };
  const entry = (key: string, value: Buffer) => Buffer.concat([ggufString(key), value]);
  /** A tensor info: name, dims, type, offset. */
  const tensor = (name: string, dims: bigint[], type: number, offset: bigint) =>
    Buffer.concat([ggufString(name), u32(dims.length), ...dims.map(u64), u32(type), u64(offset)]);

  it("reads each scalar type, arrays of each, and both GGUF versions", async () => {
    const entries = [
      entry("u8", num(T.UINT8, Buffer.from([250]))),
      entry(
        "i8",
        num(
          T.INT8,
          b(1, (x) => x.writeInt8(-5)),
        ),
      ),
      entry(
        "u16",
        num(
          T.UINT16,
          b(2, (x) => x.writeUInt16LE(65000)),
        ),
      ),
      entry(
        "i16",
        num(
          T.INT16,
          b(2, (x) => x.writeInt16LE(-300)),
        ),
      ),
      entry("u32", num(T.UINT32, u32(4_000_000_000))),
      entry(
        "i32",
        num(
          T.INT32,
          b(4, (x) => x.writeInt32LE(-70000)),
        ),
      ),
      entry(
        "f32",
        num(
          T.FLOAT32,
          b(4, (x) => x.writeFloatLE(1.5)),
        ),
      ),
      entry("bool", num(T.BOOL, Buffer.from([1]))),
      entry("u64", num(T.UINT64, u64(2n ** 40n))),
      entry(
        "i64",
        num(
          T.INT64,
          b(8, (x) => x.writeBigInt64LE(-(2n ** 40n))),
        ),
      ),
      entry(
        "f64",
        num(
          T.FLOAT64,
          b(8, (x) => x.writeDoubleLE(-2.25)),
        ),
      ),
      entry("s", num(T.STRING, ggufString("ünï"))),
      entry(
        "a.i16",
        Buffer.concat([
          u32(T.ARRAY),
          u32(T.INT16),
          u64(2n),
          b(4, (x) => (x.writeInt16LE(-1), x.writeInt16LE(2, 2))),
        ]),
      ),
      entry("a.u64", Buffer.concat([u32(T.ARRAY), u32(T.UINT64), u64(1n), u64(7n)])),
      entry("a.long", Buffer.concat([u32(T.ARRAY), u32(T.UINT8), u64(3n), Buffer.from([1, 2, 3])])),
      entry("general.alignment", num(T.UINT32, u32(64))),
    ];
    for (const version of [2, 3]) {
      const head = header(0n, BigInt(entries.length), ...entries);
      head.writeUInt32LE(version, 4);
      const path = scratchPath(`types-v${version}.gguf`);
      await writeFile(path, head);
      const file = await readGgufFile(path, { keepArraysUpTo: 2 });
      expect(file.version).toBe(version);
      expect(Object.fromEntries(file.metadata)).toEqual({
        u8: 250,
        i8: -5,
        u16: 65000,
        i16: -300,
        u32: 4_000_000_000,
        i32: -70000,
        f32: 1.5,
        bool: true,
        u64: 2n ** 40n,
        i64: -(2n ** 40n),
        f64: -2.25,
        s: "ünï",
        "a.i16": [-1, 2],
        "a.u64": [7n],
        // Longer than keepArraysUpTo: summarised by its length.
        "a.long": { arrayLength: 3, itemType: T.UINT8 },
        "general.alignment": 64,
      });
      expect(metadataNumber(file, "u64")).toBe(2 ** 40);
      expect(metadataNumber(file, "s")).toBeUndefined();
      expect(metadataString(file, "u8")).toBeUndefined();
      // No tensors: the data starts at the header's end, aligned to general.alignment.
      expect(file.dataOffset % 64).toBe(0);
      expect(file.dataOffset).toBeGreaterThanOrEqual(head.length);
      expect(file.dataOffset - head.length).toBeLessThan(64);
    }
    const kept = scratchPath("keep.gguf");
    await writeFile(kept, header(0n, 1n, entries[14]!));
    expect((await readGgufFile(kept, { keepArrayKeys: ["a.long"] })).metadata.get("a.long")).toEqual([
      1, 2, 3,
    ]);
    expect((await readGgufFile(kept, { keepArraysUpTo: 3 })).metadata.get("a.long")).toEqual([1, 2, 3]);
    expect((await readGgufFile(kept)).metadata.get("a.long")).toEqual([1, 2, 3]);
  });

  it("checks the tensor table: dimensions, sizes against the file, and an unknown type left unchecked", async () => {
    const withTensors = (tensors: Buffer[], dataBytes: number, alignment?: number) => {
      const meta = alignment === undefined ? [] : [entry("general.alignment", num(T.UINT32, u32(alignment)))];
      const head = header(BigInt(tensors.length), BigInt(meta.length), ...meta, ...tensors);
      const aligned = Math.ceil(head.length / (alignment || 32)) * (alignment || 32);
      return Buffer.concat([head, Buffer.alloc(aligned - head.length + dataBytes)]);
    };
    const ok = scratchPath("tensors.gguf");
    await writeFile(
      ok,
      withTensors([tensor("w", [4n, 2n], GgmlType.F32, 0n), tensor("odd", [3n], 99, 32n)], 32),
    );
    const file = await readGgufFile(ok);
    expect(file.tensors.map((t) => [t.name, t.dims, t.bytes])).toEqual([
      ["w", [4, 2], 32],
      ["odd", [3], undefined],
    ]);
    expect(file.dataOffset % 32).toBe(0);
    expect((await readGgufFile(ok, { checkTensors: false })).tensors).toEqual([]);
    expect((await readGgufFile(ok, { checkTensors: false })).dataOffset).toBe(-1);

    const short = scratchPath("short-data.gguf");
    await writeFile(short, withTensors([tensor("w", [4n, 2n], GgmlType.F32, 0n)], 31));
    await expect(readGgufFile(short)).rejects.toMatchObject({
      code: "gguf-truncated",
      message: expect.stringMatching(/tensor w \(F32\) needs bytes up to \d+ but the file has/),
    });
    const unknownAndShort = scratchPath("short-odd.gguf");
    await writeFile(unknownAndShort, withTensors([tensor("odd", [3n], 99, 1000n)], 0));
    expect((await readGgufFile(unknownAndShort)).tensors).toHaveLength(1);

    const fiveDims = scratchPath("five-dims.gguf");
    await writeFile(fiveDims, withTensors([tensor("w", [1n, 1n, 1n, 1n, 1n], GgmlType.F32, 0n)], 4));
    await expect(readGgufFile(fiveDims)).rejects.toMatchObject({
      code: "gguf-corrupt",
      message: `${fiveDims} is corrupt: tensor w has 5 dimensions.`,
    });
    const fourDims = scratchPath("four-dims.gguf");
    await writeFile(fourDims, withTensors([tensor("w", [1n, 1n, 1n, 1n], GgmlType.F32, 0n)], 4));
    expect((await readGgufFile(fourDims)).tensors[0]!.dims).toEqual([1, 1, 1, 1]);
    // An alignment of 0 would divide by zero: the default is used.
    const zero = scratchPath("zero-align.gguf");
    await writeFile(zero, withTensors([tensor("w", [1n], GgmlType.F32, 0n)], 4, 0));
    expect((await readGgufFile(zero)).dataOffset % 32).toBe(0);
  });

  it("refuses an unknown value type, a directory and an unreadable file, naming them", async () => {
    const unknown = scratchPath("value-type.gguf");
    await writeFile(unknown, header(0n, 1n, ggufString("k"), u32(99), u64(0n)));
    await expect(readGgufFile(unknown)).rejects.toMatchObject({
      code: "gguf-corrupt",
      message: `${unknown} is corrupt: unknown metadata value type 99.`,
    });
    const dir = scratchPath("a-folder.gguf");
    await mkdir(dir);
    await expect(readGgufFile(dir)).rejects.toMatchObject({
      code: "model-unreadable",
      message: `${dir} is not a file.`,
    });
    const underAFile = `${unknown}/model.gguf`;
    await expect(readGgufFile(underAFile)).rejects.toMatchObject({
      code: "model-unreadable",
      message: expect.stringMatching(/^Cannot read .*value-type\.gguf\/model\.gguf: /),
      cause: { code: "ENOTDIR" },
    });
    const four = scratchPath("four.gguf");
    await writeFile(four, "GGUF");
    await expect(readGgufFile(four)).rejects.toMatchObject({ code: "gguf-truncated" });
    const missing = await readGgufFile("/nonexistent/m.gguf").catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "model-not-found", cause: { code: "ENOENT" } });
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
