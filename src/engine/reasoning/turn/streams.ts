import type { Token, TokenSampler } from "../../llama/types.js";
import { outputBlocks, type StreamName } from "../layout.js";
import { TextAssembler, tokenizeMarkup } from "../tokens.js";
import type { TurnEnvironment } from "./environment.js";

/** One of the two token streams of a turn: what it has written and what it feeds next. */
export interface Stream {
  readonly name: StreamName;
  /** The block its output goes to. */
  readonly block: string;
  /** The view it decodes in. */
  readonly home: string;
  /** Tokens to feed at the next step; logits are read after the last. */
  pending: Token[];
  /** Tokens at the start of the block that are the engine's, not the stream's output. */
  starter: Token[];
  /** Sampled output tokens, fed or pending (never end-of-generation). */
  readonly output: Token[];
  readonly text: TextAssembler;
  readonly sampler: TokenSampler;
  /** It decoded in the last step (a stream that did not reads what it missed before its next token). */
  activeLastStep: boolean;
  finished: boolean;
}

/** A stream of the turn's layout, with its family's starter tokens pending. */
export function makeStream(env: TurnEnvironment, name: StreamName): Stream {
  const starter = tokenizeMarkup(env.tokenizer, env.family.starters[name]);
  const block = [...outputBlocks(env.layout)].find((id) => {
    const spec = env.layout.blocks.find((b) => b.id === id)!;
    return spec.source.kind === "output" && spec.source.stream === name;
  });
  if (!block) throw new Error(`Layout ${env.layout.name} has no output block for the ${name}`);
  return {
    name,
    block,
    home: env.layout.home[name],
    pending: [...starter],
    starter,
    output: [],
    text: new TextAssembler(env.tokenizer),
    sampler: env.createSampler(name),
    activeLastStep: false,
    finished: false,
  };
}
