#!/usr/bin/env node
/**
 * npm run make-tiny-model -- --out PATH [--arch qwen3|llama] [--layers N] [--heads H] [--kv-heads K]
 *   [--embedding E] [--seed S] [--type f32|f16|q8_0] [--program demo] [--preset qwen3-0.6b-shape]
 */
import { parseArgs } from "node:util";
import { DuetError } from "../errors.js";
import { DEMO_PROGRAM } from "../tiny-model/demoProgram.js";
import { TINY_MODEL_PRESETS, writeTinyModel, type TinyModelOptions } from "../tiny-model/tinyModel.js";
import { failAndExit, parseChoice, parseIntegerOption } from "./common.js";

const usage = `Usage: npm run make-tiny-model -- --out PATH [options]

Writes a small GGUF model with random weights (or a scripted one) that llama.cpp loads,
with a Qwen-style vocabulary and ChatML chat template. For tests, demos and benchmarks.

  --out PATH          where to write the .gguf (required)
  --arch ARCH         qwen3 (default) or llama
  --layers N          transformer layers (default 1)
  --heads H           attention heads (default 4)
  --kv-heads K        key/value heads, fewer than H for grouped-query attention (default H)
  --embedding E       embedding width (default 64)
  --seed S            random seed (default 1)
  --type T            f32 (default), f16 or q8_0
  --program demo      a scripted model whose thinker and writer follow fixed text (see demoProgram.ts)
  --preset NAME       real-model shapes with random weights: ${Object.keys(TINY_MODEL_PRESETS).join(", ")}
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      arch: { type: "string" },
      layers: { type: "string" },
      heads: { type: "string" },
      "kv-heads": { type: "string" },
      embedding: { type: "string" },
      seed: { type: "string" },
      type: { type: "string" },
      program: { type: "string" },
      preset: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  if (!values.out) throw new DuetError("invalid-argument", `--out is required.\n\n${usage}`);
  const preset = parseChoice(
    "preset",
    values.preset,
    Object.keys(TINY_MODEL_PRESETS) as Array<keyof typeof TINY_MODEL_PRESETS>,
  );
  const program = parseChoice("program", values.program, ["demo"] as const);
  const options: TinyModelOptions = { ...(preset ? TINY_MODEL_PRESETS[preset] : {}) };
  const arch = parseChoice("arch", values.arch, ["qwen3", "llama"] as const);
  if (arch) options.arch = arch;
  const set = <K extends keyof TinyModelOptions>(key: K, value: TinyModelOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set("layers", parseIntegerOption("layers", values.layers));
  set("heads", parseIntegerOption("heads", values.heads));
  set("kvHeads", parseIntegerOption("kv-heads", values["kv-heads"]));
  set("embedding", parseIntegerOption("embedding", values.embedding, 8));
  set("seed", parseIntegerOption("seed", values.seed, 0));
  set("type", parseChoice("type", values.type, ["f32", "f16", "q8_0"] as const));
  if (program === "demo") options.program = DEMO_PROGRAM;
  const started = Date.now();
  const info = await writeTinyModel(values.out, options);
  process.stdout.write(
    `Wrote ${values.out}: ${options.arch ?? "qwen3"}, ${info.layers} layer(s), ${info.heads} heads (${info.kvHeads} kv), ` +
      `embedding ${info.embedding}, vocabulary ${info.vocabulary.tokens.length}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((error: unknown) => failAndExit(error));
