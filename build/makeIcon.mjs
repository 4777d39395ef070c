// Draws Duet's icon (assets/icon.png, 1024×1024): two overlapping voices, the thinker (dim) and the
// writer (bright), on a dark rounded square. electron-builder makes the .ico/.icns from it.
// Usage: node build/makeIcon.mjs
import { writeFileSync } from "node:fs";
import { coverage, encodePng } from "./png.mjs";

const size = 1024;
const pixels = Buffer.alloc(size * size * 4);
const background = [16, 20, 24];
const thinker = [120, 132, 148];
const writer = [88, 196, 140];

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

const png = encodePng(size, size, pixels);
writeFileSync(new URL("../assets/icon.png", import.meta.url), png);
console.log(`assets/icon.png: ${png.length} bytes`);
