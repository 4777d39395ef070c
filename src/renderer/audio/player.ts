import type { AudioChunk, PlaybackEvent } from "../../shared/ipc/contract.js";

/**
 * Plays the answer's chunks back to back without gaps, and stops everything at once on
 * barge-in. Reports when each chunk really starts and ends, so the engine knows what was heard.
 */
export class AnswerPlayer {
  private context: AudioContext | undefined;
  private nextStart = 0;
  private readonly sources = new Map<number, AudioBufferSourceNode>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly report: (chunkId: number, event: PlaybackEvent) => void,
    private readonly onPlaying: (playing: boolean) => void,
  ) {}

  play(chunk: AudioChunk): void {
    this.context ??= new AudioContext();
    const context = this.context;
    void context.resume();
    const buffer = context.createBuffer(1, chunk.samples.length, chunk.sampleRate);
    buffer.copyToChannel(Float32Array.from(chunk.samples), 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    const start = Math.max(context.currentTime + 0.02, this.nextStart);
    this.nextStart = start + buffer.duration;
    source.onended = () => {
      if (!this.sources.has(chunk.chunkId)) return;
      this.sources.delete(chunk.chunkId);
      this.report(chunk.chunkId, "ended");
      if (this.sources.size === 0) this.onPlaying(false);
    };
    this.sources.set(chunk.chunkId, source);
    source.start(start);
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (this.sources.has(chunk.chunkId)) {
          this.report(chunk.chunkId, "started");
          this.onPlaying(true);
        }
      },
      Math.max(0, (start - context.currentTime) * 1000),
    );
    this.timers.add(timer);
  }

  /** Silence now: every scheduled chunk is dropped. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const [id, source] of this.sources) {
      source.onended = null;
      try {
        source.stop();
      } catch {
        // never started
      }
      this.report(id, "stopped");
    }
    this.sources.clear();
    this.nextStart = 0;
    this.onPlaying(false);
  }
}
