import { create } from "zustand";
import type {
  AppEvent,
  AppSnapshot,
  CatalogEntry,
  DownloadPhase,
  EngineStatus,
  ModelStatus,
  Recommendation,
  SessionState,
  Settings,
  SettingsNotice,
  VoiceTurnMetrics,
  HardwareInfo,
} from "../../shared/ipc/contract.js";

export interface TurnTimeline {
  /** ms since the turn started. */
  thoughts: number[];
  answers: number[];
  chunks: Array<{ start: number; end: number }>;
}

export interface TurnRecord {
  id: number;
  user: string;
  userTentative: string;
  userFinal: boolean;
  thoughts: string;
  answerTokens: string[];
  heardTokens: number;
  interjections: string[];
  done: boolean;
  endReason: string | null;
  metrics: VoiceTurnMetrics | null;
  timeline: TurnTimeline;
  /** Wall clock when the turn started, to place chunk playback on its timeline. */
  startedAt: number;
}

export interface DownloadState {
  phase: DownloadPhase;
  receivedBytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** While waiting to retry: what happened and when the next try starts. */
  message: string | null;
  error: string | null;
  done: boolean;
}

export interface Toast {
  id: number;
  stage: string;
  message: string;
}

export interface DuetState {
  connected: boolean;
  engine: EngineStatus;
  state: SessionState;
  settings: Settings | null;
  notice: SettingsNotice | null;
  turnIds: number[];
  turns: Record<number, TurnRecord>;
  pendingUserText: string | null;
  view: "conversation" | "settings";
  models: ModelStatus[];
  catalog: readonly CatalogEntry[];
  downloads: Record<string, DownloadState>;
  recommendation: { hardware: HardwareInfo; recommendation: Recommendation } | null;
  toasts: Toast[];
  hotkeyDown: boolean;
  micLevel: number;
  playing: boolean;
  apply(events: readonly AppEvent[]): void;
  loadSnapshot(snapshot: AppSnapshot): void;
  setView(view: DuetState["view"]): void;
  setModels(models: ModelStatus[], catalog: readonly CatalogEntry[]): void;
  setRecommendation(value: DuetState["recommendation"]): void;
  expectUserText(text: string): void;
  toast(stage: string, message: string): void;
  dismissToast(id: number): void;
  setMicLevel(level: number): void;
  setPlaying(playing: boolean): void;
}

let toastId = 1;

/** The toasts with one more at the end; at most the last four are kept. */
function withToast(toasts: readonly Toast[], stage: string, message: string): Toast[] {
  return [...toasts, { id: toastId++, stage, message }].slice(-4);
}

function newTurn(id: number, user: string): TurnRecord {
  return {
    id,
    user,
    userTentative: "",
    userFinal: user !== "",
    thoughts: "",
    answerTokens: [],
    heardTokens: 0,
    interjections: [],
    done: false,
    endReason: null,
    metrics: null,
    timeline: { thoughts: [], answers: [], chunks: [] },
    startedAt: performance.now(),
  };
}

/** Applies a batch of events to the state in one update (called once per animation frame). */
function reduce(state: DuetState, events: readonly AppEvent[]): Partial<DuetState> {
  let turns = state.turns;
  let turnIds = state.turnIds;
  let pendingUserText = state.pendingUserText;
  const patch: Partial<DuetState> = {};
  const current = (): TurnRecord | undefined => {
    const id = turnIds[turnIds.length - 1];
    return id === undefined ? undefined : turns[id];
  };
  const update = (turn: TurnRecord, change: Partial<TurnRecord>) => {
    turns = { ...turns, [turn.id]: { ...turn, ...change } };
  };
  for (const event of events) {
    switch (event.type) {
      case "state":
        patch.state = event.state;
        break;
      case "engine": {
        patch.engine = event.engine;
        // A turn cut short by an engine crash or failure is over; say so instead of waiting forever.
        const turn = current();
        if (turn && !turn.done && (event.engine.status === "crashed" || event.engine.status === "failed")) {
          update(turn, { done: true, endReason: "engine stopped" });
        }
        break;
      }
      case "settings":
        patch.settings = event.settings;
        if (event.notice) patch.notice = event.notice;
        break;
      case "hotkey":
        patch.hotkeyDown = event.down;
        break;
      case "error":
        patch.toasts = withToast(patch.toasts ?? state.toasts, event.stage, event.message);
        break;
      case "download": {
        const downloads = { ...(patch.downloads ?? state.downloads) };
        // A cancelled download is not a failure: its row goes back to "Resume".
        if (event.cancelled) delete downloads[event.id];
        else {
          const previous = downloads[event.id];
          downloads[event.id] = {
            phase: event.progress?.phase ?? previous?.phase ?? "connecting",
            receivedBytes: event.progress?.receivedBytes ?? previous?.receivedBytes ?? 0,
            totalBytes: event.progress?.totalBytes ?? previous?.totalBytes ?? null,
            bytesPerSecond: event.progress?.bytesPerSecond ?? 0,
            etaSeconds: event.progress?.etaSeconds ?? null,
            message: event.progress?.message ?? null,
            error: event.error ?? null,
            done: event.done ?? false,
          };
        }
        patch.downloads = downloads;
        break;
      }
      case "transcript": {
        const turn = current();
        if (turn && !turn.done)
          update(turn, { user: event.committed, userTentative: event.tentative, userFinal: event.final });
        break;
      }
      case "turn": {
        const e = event.event;
        if (e.type === "start") {
          const id = (turnIds[turnIds.length - 1] ?? 0) + 1;
          turns = { ...turns, [id]: newTurn(id, pendingUserText ?? "") };
          turnIds = [...turnIds, id];
          pendingUserText = null;
          break;
        }
        const turn = current();
        if (!turn) break;
        if (e.type === "thought") {
          update(turn, {
            thoughts: turn.thoughts + e.text,
            timeline: { ...turn.timeline, thoughts: [...turn.timeline.thoughts, e.timeMs] },
          });
        } else if (e.type === "answer") {
          const answerTokens = turn.answerTokens.slice(0, e.index);
          answerTokens[e.index] = e.text;
          update(turn, {
            answerTokens,
            timeline: { ...turn.timeline, answers: [...turn.timeline.answers, e.timeMs] },
          });
        } else if (e.type === "truncate") {
          update(turn, {
            answerTokens: turn.answerTokens.slice(0, e.keptAnswerTokens),
            heardTokens: Math.min(turn.heardTokens, e.keptAnswerTokens),
          });
        } else if (e.type === "interjection") {
          update(turn, { interjections: [...turn.interjections, e.text] });
        } else if (e.type === "input" && !turn.userFinal) {
          update(turn, { user: e.text, userFinal: e.final });
        } else if (e.type === "end") {
          update(turn, { done: true, endReason: e.reason });
        }
        break;
      }
      case "chunk": {
        const turn = current();
        if (!turn) break;
        const start = event.chunk.playStartMs ?? null;
        update(turn, {
          heardTokens: Math.max(turn.heardTokens, event.chunk.endToken),
          timeline:
            start !== null && event.chunk.durationMs
              ? {
                  ...turn.timeline,
                  chunks: [...turn.timeline.chunks, { start, end: start + event.chunk.durationMs }],
                }
              : turn.timeline,
        });
        break;
      }
      case "metrics": {
        const turn = current();
        if (turn)
          update(turn, {
            metrics: event.metrics,
            heardTokens: Math.max(turn.heardTokens, event.metrics.heardTokens),
          });
        break;
      }
      case "audio-stop":
        patch.playing = false;
        break;
    }
  }
  return { ...patch, turns, turnIds, pendingUserText };
}

export const useDuet = create<DuetState>()((set) => ({
  connected: false,
  engine: { status: "loading", message: "Connecting…" },
  state: "idle",
  settings: null,
  notice: null,
  turnIds: [],
  turns: {},
  pendingUserText: null,
  view: "conversation",
  models: [],
  catalog: [],
  downloads: {},
  recommendation: null,
  toasts: [],
  hotkeyDown: false,
  micLevel: 0,
  playing: false,
  apply: (events) => set((state) => reduce(state, events)),
  loadSnapshot: (snapshot) =>
    set((state) => {
      // Earlier turns (e.g. restored after an engine restart) appear as finished turns.
      const turns: Record<number, TurnRecord> = {};
      const turnIds: number[] = [];
      snapshot.history.forEach((h, i) => {
        const turn = newTurn(i + 1, h.user);
        turns[i + 1] = {
          ...turn,
          answerTokens: [h.answer],
          heardTokens: 1,
          done: true,
          endReason: "end-of-turn",
        };
        turnIds.push(i + 1);
      });
      return {
        connected: true,
        engine: snapshot.engine,
        settings: snapshot.settings,
        notice: snapshot.notice ?? null,
        state: snapshot.state,
        ...(state.turnIds.length === 0 ? { turns, turnIds } : {}),
      };
    }),
  setView: (view) => set({ view }),
  setModels: (models, catalog) => set({ models, catalog }),
  setRecommendation: (recommendation) => set({ recommendation }),
  expectUserText: (text) => set({ pendingUserText: text }),
  toast: (stage, message) => set((s) => ({ toasts: withToast(s.toasts, stage, message) })),
  dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  setMicLevel: (micLevel) => set({ micLevel }),
  setPlaying: (playing) => set({ playing }),
}));

/** Buffers events and applies them once per animation frame, so a fast token stream re-renders at most 60 times a second. */
export function createEventBatcher(apply: (events: AppEvent[]) => void): (event: AppEvent) => void {
  let buffer: AppEvent[] = [];
  let scheduled = false;
  return (event) => {
    buffer.push(event);
    if (scheduled) return;
    scheduled = true;
    const flush = () => {
      scheduled = false;
      const events = buffer;
      buffer = [];
      apply(events);
    };
    // Hidden windows get no animation frames; keep the state current anyway.
    if (document.hidden) setTimeout(flush, 50);
    else requestAnimationFrame(flush);
  };
}
