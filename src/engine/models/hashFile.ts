import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** The file's sha256 (hex), read in 1 MiB chunks; `onBytes` hears the bytes hashed so far. */
export async function sha256File(path: string, onBytes?: (hashed: number) => void): Promise<string> {
  const hash = createHash("sha256");
  let hashed = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    hashed += (chunk as Buffer).length;
    onBytes?.(hashed);
  }
  return hash.digest("hex");
}
