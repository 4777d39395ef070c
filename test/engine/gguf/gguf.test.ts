import { open, truncate, writeFile, copyFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { float16BitsToFloat32, float32ToFloat16Bits } from "../../../src/engine/gguf/float16.js";
import { readGgufFile, metadataNumber, metadataString } from "../../../src/engine/gguf/reader.js";
import { GgmlType } from "../../../src/engine/gguf/types.js";
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
