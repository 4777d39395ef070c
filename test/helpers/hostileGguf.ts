import { truncate, writeFile } from "node:fs/promises";
import { scratchPath } from "./models.js";

/** A GGUF header: magic, version 3, the counts, then `rest` (metadata entries). */
export function header(tensors: bigint, entries: bigint, ...rest: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0x46554747, 0);
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(tensors, 8);
  head.writeBigUInt64LE(entries, 16);
  return Buffer.concat([head, ...rest]);
}
export const u32 = (v: number) => Buffer.from(Uint32Array.of(v).buffer);
export const u64 = (v: bigint) => Buffer.from(BigUint64Array.of(v).buffer);
export const ggufString = (text: string) =>
  Buffer.concat([u64(BigInt(Buffer.byteLength(text))), Buffer.from(text)]);

/** Writes `head` at the start of a sparse file of `size` bytes (no disk space used for the rest). */
export async function hostile(name: string, head: Buffer, size: number): Promise<string> {
  const path = scratchPath(name);
  await writeFile(path, head);
  await truncate(path, size);
  return path;
}
