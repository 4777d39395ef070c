import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { DuetError } from "../errors.js";

/**
 * Takes one file out of a gzipped tar archive (an npm package tarball) without unpacking the rest:
 * the archive is read as a stream, with memory bounded by one chunk and one header, and the
 * member's bytes are hashed on their way to disk. Reads ustar headers, GNU long names and PAX
 * `path` records, which is what npm's packer writes.
 */

const BLOCK = 512;
/** Longest long-name or PAX record block Duet accepts (real ones are a few hundred bytes). */
const MAX_NAME_RECORD = 64 * 1024;

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(bytes: number): Promise<void> {
    while (this.length < bytes && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else {
        this.chunks.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  /** Up to `bytes` bytes (fewer only at the end of the stream). */
  async take(bytes: number): Promise<Buffer> {
    await this.fill(bytes);
    const all = Buffer.concat(this.chunks);
    const taken = all.subarray(0, bytes);
    this.chunks = [all.subarray(taken.length)];
    this.length = all.length - taken.length;
    return taken;
  }

  /** Passes exactly `bytes` bytes to `sink` chunk by chunk; false when the stream ends first. */
  async forward(bytes: number, sink: (piece: Buffer) => Promise<void>): Promise<boolean> {
    let left = bytes;
    while (left > 0) {
      if (this.length === 0) await this.fill(1);
      if (this.length === 0) return false;
      const head = this.chunks.shift()!;
      const piece = head.subarray(0, left);
      if (piece.length < head.length) this.chunks.unshift(head.subarray(piece.length));
      this.length -= piece.length;
      left -= piece.length;
      await sink(piece);
    }
    return true;
  }
}

const text = (block: Buffer, offset: number, length: number) => {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString("utf8");
};

/** A numeric header field: octal text, or GNU base-256 when the first byte's high bit is set. */
function numberField(block: Buffer, offset: number, length: number): number | null {
  const field = block.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return Number.isSafeInteger(value) ? value : null;
  }
  const digits = text(block, offset, length).trim();
  return /^[0-7]+$/.test(digits) ? parseInt(digits, 8) : digits === "" ? 0 : null;
}

/** The header checksum: the sum of all bytes with the checksum field read as spaces. */
function checksumMatches(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return numberField(block, 148, 8) === sum;
}

/** The `path` of a PAX extended header (records "LENGTH key=value\n"). */
function paxPath(records: string): string | undefined {
  let rest = records;
  let path: string | undefined;
  while (rest.length > 0) {
    const space = rest.indexOf(" ");
    const length = Number(rest.slice(0, space));
    if (space <= 0 || !Number.isInteger(length) || length <= space) break;
    const record = rest.slice(space + 1, length - 1);
    if (record.startsWith("path=")) path = record.slice("path=".length);
    rest = rest.slice(length);
  }
  return path;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export interface ExtractedMember {
  bytes: number;
  sha256: string;
}

/**
 * Writes the archive member `member` (a path inside the archive, such as
 * `package/dist/silero_vad_v5.onnx`) to `destination` and returns its size and sha256.
 */
export async function extractTarMember(
  archive: string,
  member: string,
  destination: string,
): Promise<ExtractedMember> {
  const damaged = (why: string, cause?: unknown) =>
    new DuetError("model-unreadable", `${archive} is not a readable .tgz archive: ${why}.`, { cause });
  const gunzip = createReadStream(archive).pipe(createGunzip());
  const reader = new ByteReader(gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  try {
    let longName: string | undefined;
    for (;;) {
      const header = await reader.take(BLOCK);
      if (header.length < BLOCK) throw damaged("it ends in the middle of a header");
      if (header.every((byte) => byte === 0)) break; // the end-of-archive blocks
      if (!checksumMatches(header)) throw damaged("a header's checksum is wrong");
      const size = numberField(header, 124, 12);
      if (size === null) throw damaged("a header has an unreadable size");
      const type = String.fromCharCode(header[156]!);
      const prefix = text(header, 345, 155);
      const ownName = prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100);
      const name = longName ?? ownName;
      longName = undefined;

      if (type === "L" || type === "x") {
        if (size > MAX_NAME_RECORD) throw damaged("a long-name record is implausibly large");
        const record = (await reader.take(size + padding(size))).subarray(0, size).toString("utf8");
        longName = type === "L" ? record.replace(/\0+$/, "") : paxPath(record);
        continue;
      }
      if (name === member && (type === "0" || type === "\0")) {
        const hash = createHash("sha256");
        const file = await open(destination, "w");
        try {
          const complete = await reader.forward(size, async (piece) => {
            hash.update(piece);
            await file.write(piece);
          });
          if (!complete) throw damaged(`it ends in the middle of ${member}`);
        } finally {
          await file.close();
        }
        return { bytes: size, sha256: hash.digest("hex") };
      }
      if (!(await reader.forward(size + padding(size), async () => undefined)))
        throw damaged("it ends in the middle of a file");
    }
  } catch (error) {
    if (error instanceof DuetError) throw error;
    throw damaged((error as Error).message, error);
  } finally {
    gunzip.destroy();
  }
  throw new DuetError("model-unreadable", `${archive} does not contain ${member}.`);
}
