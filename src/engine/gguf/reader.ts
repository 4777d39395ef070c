import { open, stat } from "node:fs/promises";
import { DuetError } from "../errors.js";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  ggmlTensorBytes,
  ggmlTypeLayout,
} from "./types.js";

export type GgufScalar = number | bigint | boolean | string;
/** Arrays longer than `keepArraysUpTo` are summarised by their length (token lists hold 150k strings). */
export type GgufMetadataValue = GgufScalar | GgufScalar[] | { arrayLength: number; itemType: number };

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: number;
  /** Offset from the start of the data section. */
  offset: number;
  /** Bytes, or undefined where the type is unknown to this reader. */
  bytes: number | undefined;
}

export interface GgufFile {
  path: string;
  version: number;
  fileSize: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
}

export interface ReadGgufOptions {
  /** Keep array values up to this many elements; longer ones become `{arrayLength}`. Default 64. */
  keepArraysUpTo?: number;
  /** Keep these keys' arrays whatever their length (e.g. `tokenizer.ggml.tokens`). */
  keepArrayKeys?: readonly string[];
  /** Read tensor infos and check that every tensor lies inside the file. Default true. */
  checkTensors?: boolean;
}

/** The largest header (metadata and tensor table) Duet reads; real ones are a few to some tens of MB. */
export const MAX_HEADER_BYTES = 128 * 2 ** 20;
/** The longest single string; the longest real ones (chat templates) are some tens of KB. */
export const MAX_STRING_BYTES = 16 * 2 ** 20;

/** The header continues past the bytes read so far (but inside the file): read more and parse again. */
class NeedMoreBytes extends Error {
  constructor(readonly needed: number) {
    super("need more bytes");
  }
}

/** The fewest bytes one array element of each value type takes (a string: its 8-byte length). */
const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
  [GgufValueType.STRING]: 8,
};

/**
 * Sequential little-endian reader over a prefix of the file. Every length it reads is checked
 * against the bytes left in the file before anything is allocated for it, so a damaged or hostile
 * header costs at most MAX_HEADER_BYTES of memory.
 */
class Cursor {
  position = 0;
  constructor(
    private readonly buffer: Buffer,
    private readonly fileSize: number,
    private readonly path: string,
  ) {}

  private need(n: number): void {
    const end = this.position + n;
    if (end > this.fileSize) {
      throw new DuetError(
        "gguf-truncated",
        `${this.path} ends in the middle of its header: the file is truncated or damaged, not a complete GGUF model.`,
      );
    }
    if (end > this.buffer.length) throw new NeedMoreBytes(end);
  }
  u8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.position++);
  }
  i8(): number {
    this.need(1);
    return this.buffer.readInt8(this.position++);
  }
  u16(): number {
    this.need(2);
    const v = this.buffer.readUInt16LE(this.position);
    this.position += 2;
    return v;
  }
  i16(): number {
    this.need(2);
    const v = this.buffer.readInt16LE(this.position);
    this.position += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buffer.readInt32LE(this.position);
    this.position += 4;
    return v;
  }
  f32(): number {
    this.need(4);
    const v = this.buffer.readFloatLE(this.position);
    this.position += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buffer.readBigUInt64LE(this.position);
    this.position += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buffer.readBigInt64LE(this.position);
    this.position += 8;
    return v;
  }
  /**
   * A count or length (u64): at most `limit`, and small enough that `count` items of at least
   * `itemBytes` bytes each fit in the rest of the file.
   */
  count(what: string, limit: number, itemBytes = 0): number {
    const v = this.u64();
    if (v > BigInt(limit)) {
      throw new DuetError(
        "gguf-corrupt",
        `${this.path} is damaged: ${what} is ${v}, more than the ${limit} any real model has.`,
      );
    }
    const left = this.fileSize - this.position;
    if (v * BigInt(itemBytes) > BigInt(left)) {
      throw new DuetError(
        "gguf-truncated",
        `${this.path} is truncated or damaged: ${what} is ${v}, which cannot fit in the ${left} bytes left in the file.`,
      );
    }
    return Number(v);
  }
  string(): string {
    const length = this.count("the length of a string", MAX_STRING_BYTES, 1);
    this.need(length);
    const s = this.buffer.toString("utf8", this.position, this.position + length);
    this.position += length;
    return s;
  }
}

function readScalar(cursor: Cursor, type: number, path: string): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8:
      return cursor.u8();
    case GgufValueType.INT8:
      return cursor.i8();
    case GgufValueType.UINT16:
      return cursor.u16();
    case GgufValueType.INT16:
      return cursor.i16();
    case GgufValueType.UINT32:
      return cursor.u32();
    case GgufValueType.INT32:
      return cursor.i32();
    case GgufValueType.FLOAT32:
      return cursor.f32();
    case GgufValueType.BOOL:
      return cursor.u8() !== 0;
    case GgufValueType.STRING:
      return cursor.string();
    case GgufValueType.UINT64:
      return cursor.u64();
    case GgufValueType.INT64:
      return cursor.i64();
    case GgufValueType.FLOAT64:
      return cursor.f64();
    default:
      throw new DuetError("gguf-corrupt", `${path} is corrupt: unknown metadata value type ${type}.`);
  }
}

function parse(buffer: Buffer, fileSize: number, path: string, options: ReadGgufOptions): GgufFile {
  const cursor = new Cursor(buffer, fileSize, path);
  if (fileSize < 4 || cursor.u32() !== GGUF_MAGIC) {
    throw new DuetError(
      "gguf-bad-magic",
      `${path} is not a GGUF model file (it does not start with "GGUF"). Duet runs llama.cpp models in GGUF format.`,
    );
  }
  const version = cursor.u32();
  if (version !== 2 && version !== 3) {
    throw new DuetError(
      "gguf-unsupported-version",
      `${path} is GGUF version ${version}; Duet reads versions 2 and 3.`,
    );
  }
  // A tensor entry takes at least 24 bytes (name length, dimensions, type, offset); a metadata
  // entry at least 13 (key length, type, a one-byte value).
  const tensorCount = cursor.count("the tensor count", 1 << 24, 24);
  const kvCount = cursor.count("the metadata count", 1 << 24, 13);
  const keepUpTo = options.keepArraysUpTo ?? 64;
  const keepKeys = new Set(options.keepArrayKeys ?? []);
  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = cursor.string();
    const type = cursor.u32();
    if (type === GgufValueType.ARRAY) {
      const itemType = cursor.u32();
      const itemBytes = ELEMENT_BYTES[itemType];
      if (itemBytes === undefined)
        throw new DuetError(
          "gguf-corrupt",
          `${path} is damaged: array ${key} has unknown item type ${itemType}.`,
        );
      const length = cursor.count(`the length of array ${key}`, 1 << 28, itemBytes);
      const keep = length <= keepUpTo || keepKeys.has(key);
      const items: GgufScalar[] = [];
      for (let j = 0; j < length; j++) {
        const item = readScalar(cursor, itemType, path);
        if (keep) items.push(item);
      }
      metadata.set(key, keep ? items : { arrayLength: length, itemType });
    } else {
      metadata.set(key, readScalar(cursor, type, path));
    }
  }
  const tensors: GgufTensorInfo[] = [];
  if (options.checkTensors === false) {
    return { path, version, fileSize, metadata, tensors, dataOffset: -1 };
  }
  for (let i = 0; i < tensorCount; i++) {
    const name = cursor.string();
    const nDims = cursor.u32();
    if (nDims > 4)
      throw new DuetError("gguf-corrupt", `${path} is corrupt: tensor ${name} has ${nDims} dimensions.`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(cursor.count(`a dimension of ${name}`, 2 ** 40));
    const type = cursor.u32();
    const offset = cursor.count(`the offset of ${name}`, Number.MAX_SAFE_INTEGER);
    const elements = dims.reduce((a, b) => a * b, 1);
    tensors.push({ name, dims, type, offset, bytes: ggmlTensorBytes(type, elements) });
  }
  const alignmentValue = metadata.get("general.alignment");
  const alignment =
    typeof alignmentValue === "number" && alignmentValue > 0 ? alignmentValue : GGUF_DEFAULT_ALIGNMENT;
  const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
  for (const tensor of tensors) {
    if (tensor.bytes === undefined) continue;
    const end = dataOffset + tensor.offset + tensor.bytes;
    if (end > fileSize) {
      const typeName = ggmlTypeLayout[tensor.type]?.name ?? String(tensor.type);
      throw new DuetError(
        "gguf-truncated",
        `${path} is truncated: tensor ${tensor.name} (${typeName}) needs bytes up to ${end} but the file has ${fileSize}. ` +
          "The download was probably interrupted; download the model again.",
      );
    }
  }
  return { path, version, fileSize, metadata, tensors, dataOffset };
}

/**
 * Reads a GGUF file's header (metadata and tensor table) without loading tensor data, and
 * checks that the file is complete. Errors are DuetErrors with a code and a readable message.
 */
export async function readGgufFile(path: string, options: ReadGgufOptions = {}): Promise<GgufFile> {
  let fileSize: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new DuetError("model-unreadable", `${path} is not a file.`);
    fileSize = info.size;
  } catch (error) {
    if (error instanceof DuetError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new DuetError("model-not-found", `Model file not found: ${path}`, { cause: error });
    throw new DuetError("model-unreadable", `Cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const handle = await open(path, "r").catch((error: unknown) => {
    throw new DuetError("model-unreadable", `Cannot open ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  try {
    let size = Math.min(fileSize, 1 << 20);
    for (;;) {
      const buffer = Buffer.alloc(size);
      const { bytesRead } = await handle.read(buffer, 0, size, 0);
      try {
        return parse(buffer.subarray(0, bytesRead), fileSize, path, options);
      } catch (error) {
        if (!(error instanceof NeedMoreBytes)) throw error;
        if (error.needed > MAX_HEADER_BYTES)
          throw new DuetError(
            "gguf-corrupt",
            `${path} is damaged or not a model Duet can read: its header is larger than ${MAX_HEADER_BYTES / 2 ** 20} MiB.`,
          );
        size = Math.min(fileSize, MAX_HEADER_BYTES, Math.max(error.needed, size * 4));
      }
    }
  } finally {
    await handle.close();
  }
}

/** Typed accessors with a clear error for a missing or mistyped key. */
export function metadataString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key);
  return typeof v === "string" ? v : undefined;
}

export function metadataNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}
