/**
 * GPT-2 style byte-level mapping used by Qwen's BPE vocabulary: every byte is shown as a
 * printable unicode character, so token strings never contain raw control bytes.
 */
function buildByteOrder(): number[] {
  const order: number[] = [];
  for (let b = 33; b <= 126; b++) order.push(b);
  for (let b = 161; b <= 172; b++) order.push(b);
  for (let b = 174; b <= 255; b++) order.push(b);
  const printable = new Set(order);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) order.push(b);
  return order;
}

/** Bytes in vocabulary order: printable ones first, as in Qwen's vocabulary. */
export const byteOrder: readonly number[] = buildByteOrder();

const byteToChar: string[] = (() => {
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = printable ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
})();

/** The characters of a byte-level string, one per byte. */
export function byteLevelChars(text: string): string[] {
  return Array.from(Buffer.from(text, "utf8"), (b) => byteToChar[b]!);
}

export function byteChar(byte: number): string {
  return byteToChar[byte]!;
}
