/**
 * What a download reports while it runs: its phase, its bytes, its speed over the last seconds and
 * the time left. Every change of phase is reported, and the last bytes of a phase; in between at
 * most five reports a second, so that a window or a terminal is not flooded.
 */

export type { DownloadPhase, DownloadProgress } from "../../shared/models.js";
import type { DownloadPhase, DownloadProgress } from "../../shared/models.js";

/** The shortest time between two reports of the same phase. */
export const REPORT_INTERVAL_MS = 200;
/** The window the speed is averaged over. */
export const SPEED_WINDOW_MS = 5000;

/** Speed over the last five seconds, from the bytes seen at each moment. */
export class SpeedMeter {
  private readonly samples: Array<[number, number]>;

  constructor(
    private readonly now: () => number,
    startBytes: number,
  ) {
    this.samples = [[now(), startBytes]];
  }

  /** Bytes per second since the oldest sample of the last five seconds (0 until time has passed). */
  add(bytes: number): number {
    const now = this.now();
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > SPEED_WINDOW_MS) this.samples.shift();
    const [t0, b0] = this.samples[0]!;
    return now > t0 ? ((bytes - b0) * 1000) / (now - t0) : 0;
  }
}

export class ProgressReporter {
  private lastReport = Number.NEGATIVE_INFINITY;
  private lastPhase: DownloadPhase | undefined;

  constructor(
    private readonly now: () => number,
    private readonly listener: ((progress: DownloadProgress) => void) | undefined,
  ) {}

  report(progress: Omit<DownloadProgress, "bytesPerSecond" | "etaSeconds">, bytesPerSecond = 0): void {
    const now = this.now();
    const { totalBytes, receivedBytes } = progress;
    const samePhase = progress.phase === this.lastPhase;
    if (samePhase && receivedBytes !== totalBytes && now - this.lastReport < REPORT_INTERVAL_MS) return;
    this.lastPhase = progress.phase;
    this.lastReport = now;
    this.listener?.({
      ...progress,
      bytesPerSecond,
      etaSeconds:
        totalBytes !== null && bytesPerSecond > 0 ? (totalBytes - receivedBytes) / bytesPerSecond : null,
    });
  }
}
