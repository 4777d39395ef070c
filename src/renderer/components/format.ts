export { formatBytes } from "../../shared/format.js";

export const seconds = (ms: number | null | undefined, digits = 1): string =>
  ms === null || ms === undefined ? "–" : `${(ms / 1000).toFixed(digits)} s`;

/** "40 s", "3 min", "1 h 20 min": a duration for people, rounded up. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(1, Math.ceil(totalSeconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
