import { DuetError } from "../../errors.js";
import type { TurnEvent, TurnResult } from "../events.js";
import { assertHeardTokens } from "./room.js";
import type { TurnRunner } from "./runner.js";

/** The handle a caller drives a turn with. */
export class Turn implements AsyncIterable<TurnEvent> {
  /** Resolves when the turn has ended and the conversation is ready for the next one. */
  readonly done: Promise<TurnResult>;

  constructor(
    private readonly runner: TurnRunner,
    done: Promise<TurnResult>,
    private readonly isFinished: () => boolean,
  ) {
    this.done = done;
  }

  [Symbol.asyncIterator](): AsyncIterator<TurnEvent> {
    return this.runner.channel[Symbol.asyncIterator]();
  }

  /** Whether new words may enter this turn mid-way (`interject`); only the async mode can take them. */
  get supportsInterjection(): boolean {
    return this.runner.supportsInterjection;
  }

  /** Calls `listener` for each event, those already emitted first; returns an unsubscribe function. */
  on(listener: (event: TurnEvent) => void): () => void {
    return this.runner.channel.subscribe(listener);
  }

  /** Every event so far. */
  get events(): readonly TurnEvent[] {
    return this.runner.channel.events;
  }

  private ensureRunning(action: string): void {
    if (this.isFinished()) throw new DuetError("invalid-argument", `Cannot ${action}: the turn has ended.`);
  }

  /** The user's words so far while they are still speaking (replaces the previous partial text). */
  updateInput(text: string): void {
    this.ensureRunning("update the input");
    if (typeof text !== "string") throw new DuetError("invalid-argument", "Input text must be a string.");
    if (!this.runner.isInputOpen)
      throw new DuetError("invalid-argument", "The user's input is already closed for this turn.");
    this.runner.enqueue({ kind: "input", text, final: false });
  }

  /** The user finished speaking; `finalText` replaces the partial text. The writer may start now. */
  closeInput(finalText?: string): void {
    this.ensureRunning("close the input");
    if (finalText !== undefined && typeof finalText !== "string")
      throw new DuetError("invalid-argument", "Input text must be a string.");
    if (!this.runner.isInputOpen)
      throw new DuetError("invalid-argument", "The user's input is already closed for this turn.");
    this.runner.enqueue({ kind: "input", text: finalText, final: true });
  }

  /**
   * Barge-in: the user was heard speaking over the answer. Keeps only the first `heardTokens`
   * answer tokens and holds the writer until `interject` brings the new words.
   */
  truncateAnswer(heardTokens: number): void {
    this.ensureRunning("truncate the answer");
    assertHeardTokens(heardTokens);
    this.runner.enqueue({ kind: "truncate", heardTokens });
  }

  /** New words from the user after the turn started; both streams see them, the writer resumes when the probe allows. */
  interject(text: string): void {
    this.ensureRunning("interject");
    if (!this.runner.supportsInterjection) {
      throw new DuetError(
        "invalid-argument",
        "Interjections need the async mode; in a baseline mode, start a new turn instead.",
      );
    }
    if (typeof text !== "string" || text.trim() === "")
      throw new DuetError("invalid-argument", "An interjection needs some words.");
    this.runner.enqueue({ kind: "interject", text: text.trim() });
  }

  /** Ends the turn now (what was said so far stays in the conversation). */
  stop(): void {
    if (this.isFinished()) return;
    this.runner.enqueue({ kind: "stop" });
  }
}
