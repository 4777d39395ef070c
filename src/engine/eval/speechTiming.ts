import { toSpeakable } from "../speech/speakable.js";
import type { SpeechSynthesizer } from "../speech/tts/synthesizer.js";

/** How long a chunk takes to say, and to synthesise. */
export interface SpeechTiming {
  readonly description: string;
  measure(text: string): Promise<{ durationS: number; ttsS: number; spoken: string }>;
}

/**
 * A documented speaking-rate model for when no voice is installed: a chunk lasts its spoken word
 * count at `wordsPerMinute` (a number said as digits counts as one word per three digits), at least
 * 0.2 s, and synthesis is instant.
 */
export class SpeakingRateModel implements SpeechTiming {
  readonly description: string;
  constructor(
    private readonly wordsPerMinute: number,
    private readonly math?: (latex: string) => string,
  ) {
    this.description = `speaking-rate model (${wordsPerMinute} words per minute); synthesis time not included`;
  }
  async measure(text: string) {
    const spoken = toSpeakable(text, this.math);
    const words = spoken
      .split(/\s+/)
      .filter((w) => /[\p{L}\p{N}]/u.test(w))
      .reduce((n, w) => n + (/^\d+$/.test(w) ? Math.ceil(w.length / 3) : 1), 0);
    // Punctuation alone is not spoken at all.
    return {
      durationS: words === 0 ? 0 : Math.max(0.2, (words * 60) / this.wordsPerMinute),
      ttsS: 0,
      spoken,
    };
  }
}

/** Real synthesis: the chunk's audio length and the wall time it took. */
export class SynthesizerTiming implements SpeechTiming {
  readonly description: string;
  constructor(
    private readonly synthesizer: SpeechSynthesizer,
    private readonly math?: (latex: string) => string,
  ) {
    this.description = `measured with the ${synthesizer.name} voice`;
  }
  async measure(text: string) {
    const spoken = toSpeakable(text, this.math);
    if (spoken === "") return { durationS: 0, ttsS: 0, spoken };
    const speech = await this.synthesizer.synthesize(spoken);
    return { durationS: speech.durationMs / 1000, ttsS: speech.synthMs / 1000, spoken };
  }
}
