export { formatBytes } from "../../shared/format.js";

export const seconds = (ms: number | null | undefined, digits = 1): string =>
  ms === null || ms === undefined ? "–" : `${(ms / 1000).toFixed(digits)} s`;
