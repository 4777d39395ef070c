import { expect } from "vitest";
import { ReasoningEngine, type ReasoningEngineOptions } from "../../src/engine/reasoning/engine.js";
import type { TurnEvent } from "../../src/engine/reasoning/events.js";
import type { Turn } from "../../src/engine/reasoning/turn/handle.js";
import type { RuntimeCapabilities } from "../../src/engine/llama/types.js";
import { FakeKvRuntime, FakeTokenizer, listScripts } from "./fakeRuntime.js";

export const QWEN_LIKE_TEMPLATE =
  "{{'<|im_start|>' + role}}...{{'<|im_end|>'}}{% if thinking %}<think>{% endif %}";

export interface FakeSetup {
  engine: ReasoningEngine;
  runtime: FakeKvRuntime;
  tokenizer: FakeTokenizer;
  scripts: ReturnType<typeof listScripts>;
}

/**
 * An engine on the scripted runtime. Sequence 0 is the writer view and 1 the thinker view in both
 * async layouts; the sequential baselines use sequence 0 alone.
 */
export function fakeEngine(
  streams: { writer?: readonly string[]; thinker?: readonly string[]; main?: readonly string[] },
  probeAnswers: readonly ("yes" | "no")[] = ["yes"],
  options: ReasoningEngineOptions & { contextSize?: number } = {},
  backend: {
    gpu?: "vulkan" | "cuda" | "metal" | false;
    gpuLayers?: number;
    capabilities?: RuntimeCapabilities;
  } = {},
): FakeSetup {
  const tokenizer = new FakeTokenizer();
  const perSequence: Record<number, readonly string[]> = {};
  if (streams.main) perSequence[0] = streams.main;
  else {
    perSequence[0] = streams.writer ?? [];
    perSequence[1] = streams.thinker ?? [];
  }
  const scripts = listScripts(tokenizer, perSequence, probeAnswers);
  const runtime = new FakeKvRuntime(tokenizer, scripts, options.contextSize ?? 4096);
  if (backend.capabilities) runtime.capabilities = backend.capabilities;
  const description = {
    ...(backend.gpu !== undefined ? { gpu: backend.gpu } : {}),
    ...(backend.gpuLayers !== undefined ? { gpuLayers: backend.gpuLayers } : {}),
  };
  const engine = new ReasoningEngine(
    {
      runtime,
      tokenizer,
      description: { path: "fake.gguf", chatTemplate: QWEN_LIKE_TEMPLATE, ...description },
    },
    options,
  );
  return { engine, runtime, tokenizer, scripts };
}

/**
 * Asserts that every view's cells, ordered by position, are exactly the view's blocks in order,
 * at the positions the cache's table gives (gaps leave holes).
 */
export function expectConsistentViews(setup: FakeSetup): void {
  const views = setup.engine.inspectViews();
  const positions = setup.engine.inspectPositions();
  expect(Object.keys(views).length).toBeGreaterThan(0);
  Object.entries(views).forEach(([view, tokens], sequence) => {
    const expected = tokens.map((token, i) => [positions[view]![i]!, token]);
    expect(setup.runtime.cellsByPosition(sequence)).toEqual(expected);
  });
}

/** Runs a turn to its end, checking view consistency at every token event. */
export async function runChecked(
  setup: FakeSetup,
  turn: Turn,
  onEvent?: (event: TurnEvent) => void,
): Promise<TurnEvent[]> {
  const failures: unknown[] = [];
  turn.on((event) => {
    if (event.type === "thought" || event.type === "answer" || event.type === "probe") {
      try {
        expectConsistentViews(setup);
      } catch (error) {
        failures.push(error);
      }
    }
    onEvent?.(event);
  });
  await turn.done;
  if (failures.length > 0) throw failures[0];
  expectConsistentViews(setup);
  return [...turn.events];
}

export const repeat = (text: string, n: number): string[] => Array.from({ length: n }, () => text);
