// Draws Duet's icon (assets/icon.png, 1024×1024): two overlapping voices, the thinker (dim) and the
// writer (bright), on a dark rounded square. electron-builder makes the .ico/.icns from it.
// Usage: node build/makeIcon.mjs
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const size = 1024;
const pixels = Buffer.alloc(size * size * 4);
const background = [16, 20, 24];
const thinker = [120, 132, 148];
const writer = [88, 196, 140];

/** Coverage of a shape at (x, y), 4×4 supersampled for smooth edges. */
function coverage(inside, x, y) {
  let n = 0;
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) if (inside(x + (i + 0.5) / 4, y + (j + 0.5) / 4)) n++;
  return n / 16;
}
const roundedSquare = (x, y) => {
  const r = 200;
  const cx = Math.min(Math.max(x, r + 40), size - r - 40);
  const cy = Math.min(Math.max(y, r + 40), size - r - 40);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
const ring = (cx, cy, outer, inner) => (x, y) => {
  const d = (x - cx) ** 2 + (y - cy) ** 2;
  return d <= outer * outer && d >= inner * inner;
};
const thinkerRing = ring(420, 512, 230, 170);
const writerDisc = ring(620, 512, 230, 0);

for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    const o = (y * size + x) * 4;
    const a = coverage(roundedSquare, x, y);
    if (a === 0) continue;
    let color = background;
    const t = coverage(thinkerRing, x, y);
    const w = coverage(writerDisc, x, y);
    color = color.map((c, k) => c * (1 - t) + thinker[k] * t);
    color = color.map((c, k) => c * (1 - w * 0.92) + writer[k] * w * 0.92);
    pixels[o] = Math.round(color[0]);
    pixels[o + 1] = Math.round(color[1]);
    pixels[o + 2] = Math.round(color[2]);
    pixels[o + 3] = Math.round(a * 255);
  }
}

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
const header = Buffer.alloc(13);
header.writeUInt32BE(size, 0);
header.writeUInt32BE(size, 4);
header[8] = 8; // bit depth
header[9] = 6; // RGBA
const rows = Buffer.alloc(size * (size * 4 + 1));
for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
const png = Buffer.concat([
  Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
  chunk("IHDR", header),
  chunk("IDAT", deflateSync(rows, { level: 9 })),
  chunk("IEND", Buffer.alloc(0)),
]);
writeFileSync(new URL("../assets/icon.png", import.meta.url), png);
console.log(`assets/icon.png: ${png.length} bytes`);
