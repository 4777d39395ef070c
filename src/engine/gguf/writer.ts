import { open, rename, rm } from "node:fs/promises";
import { float32ToFloat16Bits } from "./float16.js";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgmlType, GgufValueType, ggmlTensorBytes } from "./types.js";

/** A typed GGUF metadata value. Arrays carry their element type because GGUF arrays are homogeneous. */
export type GgufValue =
  | { type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64"; value: number }
  | { type: "u64" | "i64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: "string"; value: readonly string[] }
  | { type: "array"; itemType: "i32" | "u32" | "f32"; value: ArrayLike<number> };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "i32", value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "f32", value }),
};

export interface GgufTensorSpec {
  name: string;
  /** ggml order: innermost (contiguous) dimension first, e.g. `[embedding, vocab]` for `token_embd`. */
  dims: readonly number[];
  type: typeof GgmlType.F32 | typeof GgmlType.F16 | typeof GgmlType.Q8_0;
  /** Yields the tensor's values in order, in chunks whose lengths are multiples of 32 for Q8_0. */
  data: () => Iterable<Float32Array>;
}

export interface GgufWriteSpec {
  metadata: ReadonlyArray<readonly [key: string, value: GgufValue]>;
  tensors: readonly GgufTensorSpec[];
}

const scalarCodes = {
  u8: GgufValueType.UINT8,
  i8: GgufValueType.INT8,
  u16: GgufValueType.UINT16,
  i16: GgufValueType.INT16,
  u32: GgufValueType.UINT32,
  i32: GgufValueType.INT32,
  f32: GgufValueType.FLOAT32,
  f64: GgufValueType.FLOAT64,
  u64: GgufValueType.UINT64,
  i64: GgufValueType.INT64,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
} as const;

/** Growable little-endian byte sink used for the header. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buffer.writeUInt8(v, this.length);
    this.length += 1;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buffer.writeInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: bigint | number): void {
    this.reserve(8);
    this.buffer.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.buffer.writeBigInt64LE(v, this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buffer.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buffer.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeScalar(
  sink: ByteSink,
  type: keyof typeof scalarCodes,
  value: number | bigint | boolean | string,
): void {
  switch (type) {
    case "u8":
    case "i8":
      sink.u8(Number(value) & 0xff);
      return;
    case "u16":
    case "i16":
      sink.u8(Number(value) & 0xff);
      sink.u8((Number(value) >> 8) & 0xff);
      return;
    case "u32":
      sink.u32(Number(value));
      return;
    case "i32":
      sink.i32(Number(value));
      return;
    case "f32":
      sink.f32(Number(value));
      return;
    case "f64":
      sink.f64(Number(value));
      return;
    case "u64":
      sink.u64(BigInt(value as bigint));
      return;
    case "i64":
      sink.i64(BigInt(value as bigint));
      return;
    case "bool":
      sink.u8(value ? 1 : 0);
      return;
    case "string":
      sink.string(String(value));
      return;
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  if (value.type === "array") {
    sink.u32(GgufValueType.ARRAY);
    sink.u32(scalarCodes[value.itemType]);
    sink.u64(value.value.length);
    for (let i = 0; i < value.value.length; i++) writeScalar(sink, value.itemType, value.value[i] as never);
    return;
  }
  sink.u32(scalarCodes[value.type]);
  writeScalar(sink, value.type, value.value);
}

function encodeChunk(type: GgufTensorSpec["type"], values: Float32Array): Buffer {
  if (type === GgmlType.F32) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (type === GgmlType.F16) {
    const out = Buffer.alloc(values.length * 2);
    for (let i = 0; i < values.length; i++) out.writeUInt16LE(float32ToFloat16Bits(values[i]!), i * 2);
    return out;
  }
  // Q8_0: blocks of 32 values, an f16 scale then 32 signed bytes.
  if (values.length % 32 !== 0)
    throw new Error("Q8_0 tensor data must come in chunks of a multiple of 32 values");
  const blocks = values.length / 32;
  const out = Buffer.alloc(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(values[b * 32 + i]!));
    const scale = amax / 127;
    const inverse = scale ? 1 / scale : 0;
    out.writeUInt16LE(float32ToFloat16Bits(scale), b * 34);
    for (let i = 0; i < 32; i++) out.writeInt8(Math.round(values[b * 32 + i]! * inverse), b * 34 + 2 + i);
  }
  return out;
}

/**
 * Writes a GGUF v3 file. Tensor data is streamed chunk by chunk, so model shapes of several
 * gigabytes can be written without holding them in memory. The file appears atomically.
 */
export async function writeGgufFile(path: string, spec: GgufWriteSpec): Promise<void> {
  const header = new ByteSink();
  header.u32(GGUF_MAGIC);
  header.u32(3);
  header.u64(spec.tensors.length);
  header.u64(spec.metadata.length);
  for (const [key, value] of spec.metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of spec.tensors) {
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    const bytes = ggmlTensorBytes(tensor.type, elements);
    if (bytes === undefined) throw new Error(`Unsupported tensor type ${tensor.type} for ${tensor.name}`);
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const d of tensor.dims) header.u64(d);
    header.u32(tensor.type);
    header.u64(offset);
    offsets.push(offset);
    offset += bytes;
    offset = Math.ceil(offset / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
  }
  header.pad(GGUF_DEFAULT_ALIGNMENT);

  const temporary = `${path}.partial-${process.pid}`;
  const file = await open(temporary, "w");
  try {
    await file.write(header.bytes());
    let written = 0;
    for (const [index, tensor] of spec.tensors.entries()) {
      const start = offsets[index]!;
      if (written < start) {
        await file.write(Buffer.alloc(start - written));
        written = start;
      }
      const elements = tensor.dims.reduce((a, b) => a * b, 1);
      let produced = 0;
      const pending: Buffer[] = [];
      let pendingBytes = 0;
      for (const chunk of tensor.data()) {
        produced += chunk.length;
        const encoded = encodeChunk(tensor.type, chunk);
        pending.push(Buffer.from(encoded));
        pendingBytes += encoded.length;
        if (pendingBytes >= 1 << 22) {
          await file.write(Buffer.concat(pending));
          written += pendingBytes;
          pending.length = 0;
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) {
        await file.write(Buffer.concat(pending));
        written += pendingBytes;
      }
      if (produced !== elements) {
        throw new Error(`Tensor ${tensor.name}: produced ${produced} values, expected ${elements}`);
      }
    }
    const end = Math.ceil(written / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
    if (end > written) await file.write(Buffer.alloc(end - written));
    await file.close();
    await rename(temporary, path);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}
