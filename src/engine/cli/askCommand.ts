/**
 * The `ask` command: npm run ask -- [--model PATH] [--layout paper|compact]
 *   [--mode async|thinking|nothinking] [--max-steps N] [--json] "question"
 */
import { parseArgs } from "node:util";
import { DuetError } from "../errors.js";
import { ReasoningEngine } from "../reasoning/engine.js";
import type { TurnEvent, TurnMetrics } from "../reasoning/events.js";
import {
  ansi,
  defaultModelPath,
  failAndExit,
  formatSeconds,
  parseChoice,
  parseIntegerOption,
  parseNumberOption,
  parseTurnOptions,
  TURN_OPTIONS,
} from "./common.js";
import { TwoTrackRenderer } from "./twoTrack.js";

const usage = `Usage: npm run ask -- [options] "question"

Runs one turn of asynchronous reasoning and shows the private thinking track (dimmed) and the
spoken-answer track live, then the timing metrics.

  --model PATH        GGUF model (default: the newest model in Duet's model folder)
  --mode MODE         async (default), thinking (think fully, then answer) or nothinking
  --layout LAYOUT     paper (default) or compact
  --max-steps N       step budget (default 1024)
  --context N         KV cells per view (default 4096)
  --gpu BACKEND       auto (default), cuda, vulkan, metal or cpu
  --threads N         CPU threads (default: all cores)
  --safety            the thinker checks the request is safe before the writer may speak
  --probe MODE        model (default), yes or no (force the probe's answer)
  --temperature T     sampling temperature for both streams (default 0: greedy)
  --json              one JSON event per line; the last line is a summary object
`;

type Summary = Pick<
  TurnMetrics,
  | "ttftMs"
  | "stft"
  | "stepsDelay"
  | "steps"
  | "thinkerTokens"
  | "writerTokens"
  | "endReason"
  | "stepsPerSecond"
  | "prefillMs"
  | "totalMs"
  | "probes"
> & {
  answer: string;
};

function summary(metrics: TurnMetrics, answer: string): Summary {
  return {
    ttftMs: metrics.ttftMs === null ? null : Math.round(metrics.ttftMs),
    stft: metrics.stft,
    stepsDelay: metrics.stepsDelay,
    steps: metrics.steps,
    thinkerTokens: metrics.thinkerTokens,
    writerTokens: metrics.writerTokens,
    endReason: metrics.endReason,
    stepsPerSecond: Number(metrics.stepsPerSecond.toFixed(2)),
    prefillMs: Math.round(metrics.prefillMs),
    totalMs: Math.round(metrics.totalMs),
    probes: metrics.probes,
    answer,
  };
}

export async function runAsk(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...TURN_OPTIONS,
      context: { type: "string" },
      threads: { type: "string" },
      safety: { type: "boolean" },
      probe: { type: "string" },
      temperature: { type: "string" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const json = values.json ?? false;
  try {
    const question = positionals.join(" ");
    if (question.trim() === "") throw new DuetError("invalid-argument", `Give a question.\n\n${usage}`);
    const turnOptions = parseTurnOptions(values);
    const mode = turnOptions.mode ?? "async";
    const layout = turnOptions.layout ?? "paper";
    const { maxSteps, gpu } = turnOptions;
    const contextSize = parseIntegerOption("context", values.context, 256);
    const threads = parseIntegerOption("threads", values.threads);
    const probe = parseChoice("probe", values.probe, ["model", "yes", "no"] as const);
    const temperature = parseNumberOption("temperature", values.temperature, 0, 5);
    const modelPath = values.model ?? (await defaultModelPath());
    if (!values.model && !json) process.stderr.write(ansi.dim(`Using ${modelPath}\n`));

    const sampling = temperature ? { temperature, topP: 0.95 } : {};
    const engine = await ReasoningEngine.open({
      modelPath,
      layout,
      ...(gpu ? { gpu } : {}),
      ...(threads ? { threads } : {}),
      ...(contextSize ? { contextSize } : {}),
      ...(maxSteps ? { maxSteps } : {}),
      ...(probe ? { probe } : {}),
      safety: values.safety ?? false,
      sampling: { thinker: sampling, writer: sampling },
    });
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    try {
      const turn = engine.ask(question, { mode, signal: controller.signal });
      const renderer = json ? undefined : new TwoTrackRenderer(process.stdout, question);
      let final: TurnEvent | undefined;
      for await (const event of turn) {
        if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
        else renderer!.update(event);
        if (event.type === "end") final = event;
      }
      const result = await turn.done;
      renderer?.finish();
      const out = summary(result.metrics, result.answer);
      if (json) {
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        process.stdout.write(
          `\n${ansi.bold("TTFT")} ${formatSeconds(out.ttftMs)}   ${ansi.bold("STFT")} ${out.stft ?? "-"} steps   ` +
            `${ansi.bold("steps delay")} ${out.stepsDelay ?? "-"}   ${ansi.bold("steps/s")} ${out.stepsPerSecond}   ` +
            `steps ${out.steps} (thinker ${out.thinkerTokens}, writer ${out.writerTokens} tokens)   end: ${out.endReason}\n`,
        );
      }
      if (final?.type === "end" && final.error) throw new DuetError("decode-failed", final.error.message);
    } finally {
      await engine.dispose();
    }
  } catch (error) {
    failAndExit(error, json);
  }
}
