import { open, rename } from "node:fs/promises";

export interface TinyWhisperOptions {
  /** Default false (English-only: 51864 tokens); true gives the multilingual 51865. */
  multilingual?: boolean;
  /** Encoder/decoder width. Default 64 (whisper tiny has 384). */
  state?: number;
  /** Layers in each of the encoder and decoder. Default 1. */
  layers?: number;
  /** Attention heads. Default 2. */
  heads?: number;
}

/**
 * Writes a whisper.cpp ggml model file with hyper-parameters, mel filters and a vocabulary but
 * no tensors. whisper.cpp loads it ("assuming empty model for testing") and runs real compute,
 * producing an empty or meaningless transcript: enough to test loading, scheduling, timeouts
 * and error handling without downloading a real model.
 */
export async function writeTinyWhisperModel(path: string, options: TinyWhisperOptions = {}): Promise<void> {
  const nVocab = options.multilingual ? 51865 : 51864;
  const state = options.state ?? 64;
  const layers = options.layers ?? 1;
  const heads = options.heads ?? 2;
  const nMels = 80;
  const nFft = 201;
  const parts: Buffer[] = [];
  const ints = (...values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeInt32LE(v, i * 4));
    parts.push(b);
  };
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(0x67676d6c, 0);
  parts.push(magic);
  // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
  // ftype 1 (f16): whisper.cpp's convolution needs f16 kernels.
  ints(nVocab, 1500, state, heads, layers, 448, state, heads, layers, nMels, 1);
  // Mel filter bank: triangular filters over the FFT bins, which is what whisper's look like.
  ints(nMels, nFft);
  const filters = new Float32Array(nMels * nFft);
  for (let m = 0; m < nMels; m++) {
    const center = Math.round(((m + 1) / (nMels + 1)) * (nFft - 1));
    const width = Math.max(2, Math.round(nFft / nMels));
    for (let k = Math.max(0, center - width); k <= Math.min(nFft - 1, center + width); k++) {
      filters[m * nFft + k] = Math.max(0, 1 - Math.abs(k - center) / width) * 0.01;
    }
  }
  parts.push(Buffer.from(filters.buffer));
  // The text vocabulary: 256 byte tokens and then plain words; whisper.cpp adds its special tokens.
  const words: string[] = [];
  for (let b = 0; b < 256; b++) words.push(String.fromCharCode(b));
  for (let i = words.length; i < 50257; i++) words.push(`w${i}`);
  ints(words.length);
  for (const word of words) {
    const bytes = Buffer.from(word, "latin1");
    ints(bytes.length);
    parts.push(bytes);
  }
  const temporary = `${path}.partial-${process.pid}`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(Buffer.concat(parts));
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
