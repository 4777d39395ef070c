import { describe, expect, it } from "vitest";
import { ProgressReporter, SpeedMeter, type DownloadProgress } from "../../../src/engine/models/progress.js";

describe("download speed", () => {
  it("is measured over the last five seconds", () => {
    let now = 0;
    const meter = new SpeedMeter(() => now, 1000);
    expect(meter.add(1000)).toBe(0);
    now = 1000;
    expect(meter.add(3000)).toBe(2000);
    now = 4000;
    expect(meter.add(9000)).toBe(2000);
    // Samples older than five seconds drop out: the speed follows the last seconds only.
    now = 7000;
    expect(meter.add(9000)).toBe(0);
    now = 8000;
    expect(meter.add(19_000)).toBe(2500);
  });

  it("keeps a sample exactly five seconds old, and always two samples", () => {
    let now = 0;
    const edge = new SpeedMeter(() => now, 0);
    now = 1000;
    edge.add(1000);
    now = 5000;
    expect(edge.add(10_000)).toBe(2000); // over the five seconds since the start
    const sparse = new SpeedMeter(() => now, 0);
    now = 11_000;
    expect(sparse.add(12_000)).toBe(2000); // the only two samples, six seconds apart
  });
});

describe("progress reports", () => {
  const base = { totalBytes: 1000, attempt: 1, resumed: false } as const;

  function reporter() {
    let now = 0;
    const seen: DownloadProgress[] = [];
    const progress = new ProgressReporter(
      () => now,
      (p) => seen.push(p),
    );
    return { progress, seen, at: (ms: number) => (now = ms) };
  }

  it("reports every change of phase and the last bytes at once, other bytes at most every 200 ms", () => {
    const { progress, seen, at } = reporter();
    progress.report({ ...base, phase: "connecting", receivedBytes: 0 });
    progress.report({ ...base, phase: "downloading", receivedBytes: 10 });
    at(199);
    progress.report({ ...base, phase: "downloading", receivedBytes: 20 });
    at(200);
    progress.report({ ...base, phase: "downloading", receivedBytes: 30 });
    at(300);
    progress.report({ ...base, phase: "downloading", receivedBytes: 40 });
    at(250 + 200);
    progress.report({ ...base, phase: "downloading", receivedBytes: 1000 });
    progress.report({ ...base, phase: "verifying", receivedBytes: 0 });
    expect(seen.map((p) => [p.phase, p.receivedBytes])).toEqual([
      ["connecting", 0],
      ["downloading", 10],
      ["downloading", 30],
      ["downloading", 1000],
      ["verifying", 0],
    ]);
  });

  it("estimates the time left from the speed, and says nothing without a speed or a size", () => {
    const { progress, seen, at } = reporter();
    progress.report({ ...base, phase: "downloading", receivedBytes: 200 }, 100);
    at(300);
    progress.report({ ...base, phase: "downloading", receivedBytes: 400, totalBytes: null }, 100);
    at(600);
    progress.report({ ...base, phase: "downloading", receivedBytes: 500 }, 0);
    expect(seen.map((p) => [p.bytesPerSecond, p.etaSeconds])).toEqual([
      [100, 8],
      [100, null],
      [0, null],
    ]);
  });

  it("works without a listener", () => {
    expect(() =>
      new ProgressReporter(() => 0, undefined).report({ ...base, phase: "connecting", receivedBytes: 0 }),
    ).not.toThrow();
  });
});
