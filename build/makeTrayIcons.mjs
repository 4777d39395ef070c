// Draws the tray icons (assets/tray/<state>.png, 64×64, transparent): what Duet is doing, legible
// at 16 px. Idle: Duet's two voices (a ring and a disc) in grey. Listening: a red recording dot.
// Thinking: an amber ring with three dots. Speaking: a green disc sending out sound waves.
// The main process scales them for each platform's tray. Usage: node build/makeTrayIcons.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { coverage, encodePng } from "./png.mjs";

const size = 64;
const circle = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const ring = (cx, cy, outer, inner) => (x, y) => circle(cx, cy, outer)(x, y) && !circle(cx, cy, inner)(x, y);
/** A ring's right-hand part (an arc facing right), for sound waves. */
const arc = (cx, cy, outer, inner, halfAngle) => (x, y) =>
  ring(cx, cy, outer, inner)(x, y) && Math.abs(Math.atan2(y - cy, x - cx)) <= halfAngle;

/** Each icon: shapes painted in order, each with its colour. */
const ICONS = {
  idle: [
    [ring(26, 32, 20, 14), [150, 158, 170]],
    [circle(40, 32, 16), [110, 190, 150]],
  ],
  listening: [
    [circle(32, 32, 27), [226, 64, 64]],
    [circle(32, 32, 11), [255, 240, 240]],
  ],
  thinking: [
    [ring(32, 32, 28, 22), [232, 170, 48]],
    [circle(20, 32, 5), [232, 170, 48]],
    [circle(32, 32, 5), [232, 170, 48]],
    [circle(44, 32, 5), [232, 170, 48]],
  ],
  speaking: [
    [circle(20, 32, 14), [72, 200, 132]],
    [arc(20, 32, 28, 23, 0.9), [72, 200, 132]],
    [arc(20, 32, 40, 35, 0.75), [72, 200, 132]],
  ],
};

mkdirSync(new URL("../assets/tray/", import.meta.url), { recursive: true });
for (const [state, shapes] of Object.entries(ICONS)) {
  const pixels = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const [inside, color] of shapes) {
        const c = coverage(inside, x, y);
        if (c === 0) continue;
        // "Over" compositing of a straight-alpha colour.
        const outA = c + a * (1 - c);
        [r, g, b] = [r, g, b].map((v, k) => (color[k] * c + v * a * (1 - c)) / outA);
        a = outA;
      }
      const o = (y * size + x) * 4;
      pixels[o] = Math.round(r);
      pixels[o + 1] = Math.round(g);
      pixels[o + 2] = Math.round(b);
      pixels[o + 3] = Math.round(a * 255);
    }
  }
  const png = encodePng(size, size, pixels);
  writeFileSync(new URL(`../assets/tray/${state}.png`, import.meta.url), png);
  console.log(`assets/tray/${state}.png: ${png.length} bytes`);
}
