import { create } from "zustand";
import type {
  AppEvent,
  AppSnapshot,
  CatalogEntry,
  ConversationSummary,
  DownloadPhase,
  EngineStatus,
  HardwareInfo,
  ModelStatus,
  OpenConversation,
  Recommendation,
  SessionState,
  Settings,
  SettingsNotice,
} from "../../shared/ipc/contract.js";
import {
  emptyTurns,
  expectUserText,
  reduceTurns,
  turnsFrom,
  type TurnRecord,
  type TurnsState,
} from "../../shared/turnRecord.js";

export type { TurnRecord, TurnTimeline } from "../../shared/turnRecord.js";

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

/** A fix the user can apply from a message, as a button. */
export type ToastAction = "open-settings" | "retry-engine" | "open-logs";

export interface Toast {
  id: number;
  /** Where it happened ("stt", "models"...); the title is said in words (toastTitle). */
  stage: string;
  message: string;
  /** Errors go away after a while; notices (an export saved) too, sooner. */
  kind: "error" | "info";
  action?: ToastAction;
}

export type View = "conversation" | "settings";

export interface DuetState extends TurnsState {
  connected: boolean;
  engine: EngineStatus;
  state: SessionState;
  settings: Settings | null;
  notice: SettingsNotice | null;
  /** The conversation on screen. */
  conversationId: string | null;
  conversationTitle: string;
  conversations: ConversationSummary[];
  view: View;
  models: ModelStatus[];
  catalog: readonly CatalogEntry[];
  downloads: Record<string, DownloadState>;
  recommendation: { hardware: HardwareInfo; recommendation: Recommendation } | null;
  toasts: Toast[];
  hotkeyDown: boolean;
  micLevel: number;
  playing: boolean;
  /** Hands-free only: the microphone is muted by the user. */
  muted: boolean;
  /** The last import's problem, shown under the import field. */
  importError: string | null;
  apply(events: readonly AppEvent[]): void;
  loadSnapshot(snapshot: AppSnapshot): void;
  showConversation(conversation: OpenConversation): void;
  setView(view: View): void;
  setModels(models: ModelStatus[], catalog: readonly CatalogEntry[]): void;
  setRecommendation(value: DuetState["recommendation"]): void;
  expectUserText(text: string): void;
  toast(stage: string, message: string, options?: { kind?: Toast["kind"]; action?: ToastAction }): void;
  dismissToast(id: number): void;
  setMicLevel(level: number): void;
  setPlaying(playing: boolean): void;
  setMuted(muted: boolean): void;
  setImportError(message: string | null): void;
  /** A download the user asked for, shown at once (before the main process answers). */
  startingDownload(id: string, totalBytes: number | null): void;
}

let toastId = 1;

/** The fix that goes with an error, when there is one the window can offer. */
function actionFor(stage: string, message: string): ToastAction | undefined {
  if ((stage === "stt" || stage === "tts") && /download|settings|model/i.test(message))
    return "open-settings";
  if (stage === "engine" && /not ready|failed|stopped/i.test(message)) return "retry-engine";
  return undefined;
}

/** The toasts with one more at the end; at most the last four are kept. */
function withToast(
  toasts: readonly Toast[],
  stage: string,
  message: string,
  options: { kind?: Toast["kind"]; action?: ToastAction } = {},
): Toast[] {
  // The same message again (a retry that failed the same way) replaces the old one.
  const others = toasts.filter((t) => t.message !== message);
  const action = options.action ?? actionFor(stage, message);
  return [
    ...others,
    { id: toastId++, stage, message, kind: options.kind ?? "error", ...(action ? { action } : {}) },
  ].slice(-4);
}

function downloadState(previous: DownloadState | undefined, event: Extract<AppEvent, { type: "download" }>) {
  return {
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

/** Applies a batch of events to the state in one update (called once per animation frame). */
function reduce(state: DuetState, events: readonly AppEvent[]): Partial<DuetState> {
  const patch: Partial<DuetState> = {};
  let turns: TurnsState = state;
  for (const event of events) {
    switch (event.type) {
      case "state":
        patch.state = event.state;
        break;
      case "engine":
        patch.engine = event.engine;
        break;
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
      case "notice":
        patch.toasts = withToast(patch.toasts ?? state.toasts, "notice", event.message, { kind: "info" });
        break;
      case "download": {
        const downloads = { ...(patch.downloads ?? state.downloads) };
        // A cancelled download is not a failure: its row goes back to "Resume".
        if (event.cancelled) delete downloads[event.id];
        else downloads[event.id] = downloadState(downloads[event.id], event);
        patch.downloads = downloads;
        break;
      }
      case "conversations":
        patch.conversations = event.conversations;
        if (event.currentId === (patch.conversationId ?? state.conversationId)) {
          const current = event.conversations.find((c) => c.id === event.currentId);
          if (current) patch.conversationTitle = current.title;
        }
        break;
      case "conversation":
        turns = turnsFrom(event.conversation.turns);
        patch.conversationId = event.conversation.id;
        patch.conversationTitle = event.conversation.title;
        break;
      case "audio-stop":
        patch.playing = false;
        break;
      default:
        break;
    }
    turns = reduceTurns(turns, [event], () => Date.now());
  }
  const { turnIds, pendingUserText, droppedTurn } = turns;
  return turns === state ? patch : { ...patch, turns: turns.turns, turnIds, pendingUserText, droppedTurn };
}

export const useDuet = create<DuetState>()((set) => ({
  connected: false,
  engine: { status: "loading", message: "Connecting…" },
  state: "idle",
  settings: null,
  notice: null,
  ...emptyTurns(),
  conversationId: null,
  conversationTitle: "",
  conversations: [],
  view: "conversation",
  models: [],
  catalog: [],
  downloads: {},
  recommendation: null,
  toasts: [],
  hotkeyDown: false,
  micLevel: 0,
  playing: false,
  muted: false,
  importError: null,
  apply: (events) => set((state) => reduce(state, events)),
  loadSnapshot: (snapshot) =>
    set((state) => {
      let toasts = state.toasts;
      for (const message of snapshot.conversationNotices)
        toasts = withToast(toasts, "conversations", message, { kind: "info" });
      return {
        connected: true,
        engine: snapshot.engine,
        settings: snapshot.settings,
        notice: snapshot.notice ?? null,
        state: snapshot.state,
        conversations: snapshot.conversations,
        conversationId: snapshot.conversation.id,
        conversationTitle: snapshot.conversation.title,
        toasts,
        // Earlier turns (a reopened conversation, or after a reload) appear as they were.
        ...(state.turnIds.length === 0 ? turnsFrom(snapshot.conversation.turns) : {}),
      };
    }),
  showConversation: (conversation) =>
    set({
      ...turnsFrom(conversation.turns),
      conversationId: conversation.id,
      conversationTitle: conversation.title,
      view: "conversation",
    }),
  setView: (view) => set({ view }),
  setModels: (models, catalog) => set({ models, catalog }),
  setRecommendation: (recommendation) => set({ recommendation }),
  expectUserText: (text) => set((s) => expectUserText(s, text)),
  toast: (stage, message, options) => set((s) => ({ toasts: withToast(s.toasts, stage, message, options) })),
  dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  setMicLevel: (micLevel) => set({ micLevel }),
  setPlaying: (playing) => set({ playing }),
  setMuted: (muted) => set({ muted }),
  setImportError: (importError) => set({ importError }),
  startingDownload: (id, totalBytes) =>
    set((s) =>
      s.downloads[id] && !s.downloads[id].done && !s.downloads[id].error
        ? {}
        : {
            downloads: {
              ...s.downloads,
              [id]: {
                phase: "connecting",
                receivedBytes: 0,
                totalBytes,
                bytesPerSecond: 0,
                etaSeconds: null,
                message: null,
                error: null,
                done: false,
              },
            },
          },
    ),
}));

/** The turn with this id (for components that subscribe to one field of it). */
export const selectTurn =
  (id: number) =>
  (s: DuetState): TurnRecord | undefined =>
    s.turns[id];

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
