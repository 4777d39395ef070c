export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v >= 100 || u === 0 ? 0 : 1)} ${units[u]}`;
}

export const seconds = (ms: number | null | undefined, digits = 1): string => (ms === null || ms === undefined ? "–" : `${(ms / 1000).toFixed(digits)} s`);
