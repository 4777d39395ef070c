/**
 * The `ask` command: one turn of asynchronous reasoning in the terminal, both tracks live.
 */
import { DuetError } from "../errors.js";
import type { TurnEvent, TurnMetrics } from "../reasoning/events.js";
import { openAssistant } from "../session/assistant.js";
import { ASSISTANT_OPTIONS, ASSISTANT_OPTIONS_USAGE, configForCommand } from "./assistantForCommand.js";
import { parseCommandLine, UsageError } from "./commandLine.js";
import { ansi, failAndExit, formatSeconds } from "./common.js";
import { showNativeLogs } from "./nativeLogs.js";
import { TwoTrackRenderer } from "./twoTrack.js";

const usage = `Usage: npm run ask -- [options] "question"

Runs one turn of asynchronous reasoning and shows the private thinking track (dimmed) and the
spoken-answer track live, then the timing metrics. Uses your Duet settings; options change them
for this run only. A question that starts with "-" goes after --: npm run ask -- -- "-5 plus 3?"

${ASSISTANT_OPTIONS_USAGE}
`;

/** The summary line of `ask --json`: the turn's metrics, the answer and the model file used. */
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
  | "shiftPasses"
  | "thoughtLagMean"
  | "thoughtLagMax"
> & {
  answer: string;
  /** The model file the turn ran on. */
  model: string;
  /** Where it ran ("CPU", "Vulkan GPU"). */
  runsOn: string;
  /** How thoughts reached the answer's view: rotate (stock llama.cpp), gap or copy (Duet's build). */
  placement: string;
  /** When thoughts reached the answer: "every step", "in chunks of 32 tokens...". */
  thoughtSharing: string;
};

function summary(
  metrics: TurnMetrics,
  answer: string,
  model: string,
  runsOn: string,
  sharing: { placement: string; thoughtSharing: string },
): Summary {
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
    shiftPasses: metrics.shiftPasses,
    thoughtLagMean: Number(metrics.thoughtLagMean.toFixed(2)),
    thoughtLagMax: metrics.thoughtLagMax,
    answer,
    model,
    runsOn,
    ...sharing,
  };
}

export interface RunAskOptions {
  /** The model to use, whatever the settings say (the demo's). */
  fixedModel?: string;
  /**
   * Show the turn at this many milliseconds per step instead of as fast as it runs (the demo's
   * scripted model is done in a blink). Only the display waits; the metrics are the real ones.
   */
  paceMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runAsk(args: readonly string[], options: RunAskOptions = {}): Promise<void> {
  let json = args.includes("--json");
  try {
    const { values, positionals } = parseCommandLine(args, ASSISTANT_OPTIONS, "ask");
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    json = values.json ?? false;
    showNativeLogs(values.verbose);
    const question = positionals.join(" ");
    if (question.trim() === "") throw new UsageError("Give a question.");
    const { config, notices } = await configForCommand({
      ...values,
      ...(options.fixedModel ? { model: options.fixedModel } : {}),
    });
    for (const notice of notices) process.stderr.write(`duet: ${notice}\n`);

    const assistant = await openAssistant(config);
    if (!json)
      process.stderr.write(
        ansi.dim(
          `Using ${assistant.model.path} on the ${assistant.model.runsOn}; thoughts reach the answer ${assistant.engine.options.thoughtSharing} (${assistant.engine.placement === "rotate" ? "stock llama.cpp" : `Duet's llama.cpp build, ${assistant.engine.placement}`})\n`,
        ),
      );
    for (const notice of assistant.notices) process.stderr.write(`duet: ${notice}\n`);
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    try {
      const turn = assistant.engine.ask(question, { signal: controller.signal });
      const renderer = json ? undefined : new TwoTrackRenderer(process.stdout, question);
      let final: TurnEvent | undefined;
      const shownFrom = performance.now();
      for await (const event of turn) {
        if (options.paceMs && !json) {
          const wait = shownFrom + event.step * options.paceMs - performance.now();
          if (wait > 0) await sleep(wait);
        }
        if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
        else renderer!.update(event);
        if (event.type === "end") final = event;
      }
      const result = await turn.done;
      renderer?.finish();
      const out = summary(result.metrics, result.answer, assistant.model.path, assistant.model.runsOn, {
        placement: assistant.engine.placement,
        thoughtSharing: assistant.engine.options.thoughtSharing,
      });
      if (json) {
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        process.stdout.write(
          `\n${ansi.bold("TTFT")} ${formatSeconds(out.ttftMs)}   ${ansi.bold("STFT")} ${out.stft ?? "-"} steps   ` +
            `${ansi.bold("steps delay")} ${out.stepsDelay ?? "-"}   ${ansi.bold("steps/s")} ${out.stepsPerSecond}   ` +
            `steps ${out.steps} (thinker ${out.thinkerTokens}, writer ${out.writerTokens} tokens)   ` +
            `thought lag ${out.thoughtLagMean.toFixed(1)} mean, ${out.thoughtLagMax} max   end: ${out.endReason}\n`,
        );
      }
      if (final?.type === "end" && final.error) throw new DuetError("decode-failed", final.error.message);
    } finally {
      await assistant.dispose();
    }
  } catch (error) {
    failAndExit(error, { json, usage });
  }
}
