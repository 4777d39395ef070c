import {
  CONVERSATION_VERSION,
  UNTITLED,
  conversationToMarkdown,
  exportFileName,
  savedTurn,
  titleFromQuestion,
  turnRecord,
  type Conversation,
  type OpenConversation,
} from "../../shared/conversations.js";
import type { AppEvent } from "../../shared/ipc/contract.js";
import {
  currentTurn,
  emptyTurns,
  expectUserText,
  hasWords,
  reduceTurns,
  turnList,
  turnsFrom,
  type TurnsState,
} from "../../shared/turnRecord.js";
import type { ConversationStore } from "./store.js";

export interface HistoryItem {
  user: string;
  answer: string;
}

export interface ConversationKeeperOptions {
  store: ConversationStore;
  /** The list changed, or saving failed (a notice). */
  emit: (event: AppEvent) => void;
  /** Wall clock, ms. */
  now?: () => number;
  /** Changes during a turn are saved at most this often; a turn's end is saved at once. Default 1 s. */
  saveDelayMs?: number;
}

interface Current {
  id: string;
  title: string;
  titleIsCustom: boolean;
  createdAt: number;
  updatedAt: number;
  turns: TurnsState;
  history: HistoryItem[];
}

/**
 * The conversation being held: it records the session's events into turns (the same reducer as
 * the window), saves them as they come (a turn's end at once, its progress at most once a second)
 * and switches between saved conversations. A conversation is written once it has a turn.
 */
export class ConversationKeeper {
  private current: Current;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private failureShown = false;
  private readonly now: () => number;

  constructor(private readonly options: ConversationKeeperOptions) {
    this.now = options.now ?? (() => Date.now());
    this.current = this.blank();
  }

  private blank(): Current {
    const at = this.now();
    return {
      id: this.options.store.newId(),
      title: UNTITLED,
      titleIsCustom: false,
      createdAt: at,
      updatedAt: at,
      turns: emptyTurns(),
      history: [],
    };
  }

  get id(): string {
    return this.current.id;
  }

  /** What the engine must know to continue the current conversation. */
  get history(): HistoryItem[] {
    return this.current.history;
  }

  /** Reopens the most recent conversation, or starts a new one when there is none. */
  async openLatest(): Promise<void> {
    for (const summary of this.options.store.list()) {
      const loaded = await this.options.store.load(summary.id);
      if (loaded) {
        this.current = this.fromSaved(loaded);
        return;
      }
    }
    this.current = this.blank();
  }

  private fromSaved(saved: Conversation): Current {
    return {
      id: saved.id,
      title: saved.title,
      titleIsCustom: saved.titleIsCustom,
      createdAt: saved.createdAt,
      updatedAt: saved.updatedAt,
      turns: turnsFrom(saved.turns.map((t, i) => turnRecord(t, i + 1))),
      history: saved.history,
    };
  }

  /** The current conversation as the window shows it. */
  open(): OpenConversation {
    return { id: this.current.id, title: this.current.title, turns: turnList(this.current.turns) };
  }

  /** Typed text sent to the engine: the next turn's question (the "start" event carries no text). */
  expectUserText(text: string): void {
    this.current.turns = expectUserText(this.current.turns, text);
  }

  /** Events from the voice session and the engine's status. */
  record(event: AppEvent): void {
    const before = this.current.turns;
    const after = reduceTurns(before, [event], this.now);
    if (after === before) return;
    this.current.turns = after;
    // The reducer changes only the newest turn. A turn without words yet (listening), or one removed
    // at its end because none came, changes nothing that is saved: the conversation is not touched.
    const latest = currentTurn(after);
    if (!latest || !hasWords(latest) || latest === before.turns[latest.id]) return;
    const turns = turnList(after);
    this.current.updatedAt = this.now();
    if (!this.current.titleIsCustom) this.current.title = titleFromQuestion(turns[0]!.user);
    const ended =
      (event.type === "turn" && event.event.type === "end") ||
      event.type === "metrics" ||
      event.type === "engine" ||
      (event.type === "turn" && event.event.type === "start");
    this.scheduleSave(ended ? 0 : (this.options.saveDelayMs ?? 1000));
  }

  /** The engine's record of the conversation (what it will continue from). */
  recordHistory(history: HistoryItem[]): void {
    this.current.history = history.map(({ user, answer }) => ({ user, answer }));
    if (turnList(this.current.turns).length > 0) this.scheduleSave(this.options.saveDelayMs ?? 1000);
  }

  private scheduleSave(delayMs: number): void {
    if (delayMs === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.save();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, delayMs);
  }

  private conversation(current: Current): Conversation {
    return {
      version: CONVERSATION_VERSION,
      id: current.id,
      title: current.title,
      titleIsCustom: current.titleIsCustom,
      createdAt: current.createdAt,
      updatedAt: current.updatedAt,
      // An ended turn without a word is gone from the turns already; one still listening is saved
      // once words come (if none come, it never was part of the conversation).
      turns: turnList(current.turns).filter(hasWords).map(savedTurn),
      history: current.history,
    };
  }

  /** Saves the current conversation (if it has turns); saves run one after another. */
  save(): Promise<void> {
    const snapshot = this.conversation(this.current);
    if (snapshot.turns.length === 0) return this.saving;
    this.saving = this.saving.then(async () => {
      try {
        await this.options.store.save(snapshot);
        this.failureShown = false;
        this.emitList();
      } catch (error) {
        // Said once until saving works again, not at every token.
        if (!this.failureShown) this.options.emit({ type: "notice", message: (error as Error).message });
        this.failureShown = true;
      }
    });
    return this.saving;
  }

  /** Waits for pending saves (before switching, exporting or quitting). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.save();
    }
    await this.saving;
  }

  private emitList(): void {
    this.options.emit({
      type: "conversations",
      conversations: this.options.store.list(),
      currentId: this.current.id,
    });
  }

  /** Switches to a saved conversation. */
  async switchTo(id: string): Promise<OpenConversation> {
    await this.flush();
    const loaded = await this.options.store.load(id);
    if (!loaded) throw new Error("That conversation is no longer there.");
    this.current = this.fromSaved(loaded);
    this.emitList();
    return this.open();
  }

  /** Starts an empty conversation (saved once it has a turn). */
  async startNew(): Promise<OpenConversation> {
    await this.flush();
    this.current = this.blank();
    this.emitList();
    return this.open();
  }

  async rename(id: string, title: string): Promise<void> {
    await this.flush();
    if (id === this.current.id) {
      this.current.title = title;
      this.current.titleIsCustom = true;
      if (turnList(this.current.turns).length > 0) await this.save();
      else this.emitList();
      return;
    }
    const loaded = await this.options.store.load(id);
    if (!loaded) throw new Error("That conversation is no longer there.");
    await this.options.store.save({ ...loaded, title, titleIsCustom: true });
    this.emitList();
  }

  /** Deletes a conversation; deleting the current one opens the newest other one (or a new one). */
  async delete(id: string): Promise<OpenConversation | undefined> {
    await this.flush();
    await this.options.store.delete(id);
    if (id !== this.current.id) {
      this.emitList();
      return undefined;
    }
    await this.openLatest();
    this.emitList();
    return this.open();
  }

  /** A conversation as Markdown, and a file name for it. */
  async markdown(id: string, thinking: boolean): Promise<{ text: string; fileName: string }> {
    await this.flush();
    const conversation =
      id === this.current.id ? this.conversation(this.current) : await this.options.store.load(id);
    if (!conversation) throw new Error("That conversation is no longer there.");
    return {
      text: conversationToMarkdown(conversation, { thinking }),
      fileName: exportFileName(conversation.title),
    };
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
