import type { AssistantConfig } from "../../engine/session/config.js";
import type { EngineStatus } from "../../shared/ipc/contract.js";
import type { FromWorker, HandsFreeOptions, HistoryItem, ToWorker } from "../worker/protocol.js";
import type { ProcessHandle, ProcessLauncher } from "./processes.js";

/** A running engine process. */
export type WorkerHandle = ProcessHandle<ToWorker, FromWorker>;
export type WorkerLauncher = ProcessLauncher<ToWorker, FromWorker>;

export interface EngineHostOptions {
  launcher: WorkerLauncher;
  onMessage: (message: FromWorker) => void;
  onStatus: (status: EngineStatus) => void;
  /** Delays before restarting after crashes in a row. Default 500 ms, 2 s, 5 s, then gives up. */
  restartDelaysMs?: readonly number[];
  /** A crash this long after the last one starts the count again. Default 60 s. */
  crashWindowMs?: number;
}

/** How a process ended, in words. */
export function exitWords(code: number | null): string {
  return code === null
    ? "it was killed by the system, often for lack of memory"
    : `it crashed with exit code ${code}`;
}

/**
 * Keeps the engine process alive: a crash is reported, the process restarts with the same
 * configuration, and the conversation so far (kept here, in the main process) is restored.
 */
export class EngineHost {
  private worker: WorkerHandle | undefined;
  private config: AssistantConfig | undefined;
  private history: HistoryItem[] = [];
  /** The conversation the history belongs to (named in the messages about it). */
  private conversationId = "";
  private crashes: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: EngineHostOptions) {}

  get conversation(): readonly HistoryItem[] {
    return this.history;
  }

  /** Whether an engine process is running (or about to restart). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Continues another conversation: the running engine stops what it does and takes its history
   * (no reload); a later start or restart starts from it too.
   */
  switchConversation(conversationId: string, history: readonly HistoryItem[]): void {
    this.conversationId = conversationId;
    this.history = history.map(({ user, answer }) => ({ user, answer }));
    this.send({ type: "restore", history: this.history, conversation: conversationId });
  }

  /** Settings the voice session applies live (hands-free); kept for restarts too. */
  setHandsFree(handsFree: HandsFreeOptions): void {
    if (this.config) this.config = { ...this.config, speech: { ...this.config.speech, ...handsFree } };
    this.send({ type: "session-options", handsFree });
  }

  /** Forgets earlier crashes, so a retry gets the full set of automatic restarts again. */
  forgetCrashes(): void {
    this.crashes = [];
  }

  /** Starts (or restarts) the engine with this configuration, keeping the conversation. */
  start(config: AssistantConfig): void {
    this.config = config;
    this.stop();
    this.launch();
  }

  private launch(): void {
    if (!this.config) return;
    this.stopping = false;
    const worker = this.options.launcher.launch();
    this.worker = worker;
    worker.onMessage((message) => {
      if (this.worker !== worker) return;
      // A history about another conversation (reported before a switch reached the engine) is stale.
      if (message.type === "history" && message.conversation === this.conversationId)
        this.history = message.history.map(({ user, answer }) => ({ user, answer }));
      if (message.type === "status") this.options.onStatus(message.engine);
      this.options.onMessage(message);
    });
    worker.onExit((code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (this.stopping) return;
      this.crashed(code);
    });
    worker.post({
      type: "start",
      config: this.config,
      history: this.history,
      conversation: this.conversationId,
    });
  }

  private crashed(code: number | null): void {
    const now = Date.now();
    const windowMs = this.options.crashWindowMs ?? 60_000;
    this.crashes = [...this.crashes.filter((t) => now - t < windowMs), now];
    const delays = this.options.restartDelaysMs ?? [500, 2000, 5000];
    const delay = delays[this.crashes.length - 1];
    if (delay === undefined) {
      this.options.onStatus({
        status: "failed",
        message: `The engine stopped unexpectedly ${this.crashes.length} times in a row (last time: ${exitWords(code)}). The model may not fit in memory: choose a smaller model or another GPU setting, or try again.`,
      });
      return;
    }
    this.options.onStatus({
      status: "crashed",
      message: `The engine stopped unexpectedly (${exitWords(code)}); restarting. The conversation is kept.`,
      restartInMs: delay,
    });
    this.restartTimer = setTimeout(() => this.launch(), delay);
  }

  send(message: ToWorker): boolean {
    if (!this.worker) return false;
    this.worker.post(message);
    return true;
  }

  /** Stops the engine process (a deliberate stop, not a crash) and any pending restart. */
  stop(): void {
    clearTimeout(this.restartTimer);
    if (this.worker) {
      this.stopping = true;
      const worker = this.worker;
      this.worker = undefined;
      worker.kill();
    }
  }
}
