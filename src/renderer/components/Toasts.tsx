import { useEffect } from "react";
import { useDuet, type Toast, type ToastAction } from "../store/store.js";
import { useController } from "./context.js";

/** Where a message comes from, in words (the stages are internal names). */
const TITLES: Record<string, string> = {
  stt: "Speech recognition",
  tts: "Voice",
  audio: "Sound",
  microphone: "Microphone",
  engine: "Assistant",
  models: "Models",
  download: "Download",
  settings: "Settings",
  hardware: "Hardware",
  logs: "Logs",
  voice: "Voice",
  conversations: "Conversations",
  notice: "Note",
  app: "Duet",
};

export const toastTitle = (stage: string): string => TITLES[stage] ?? "Duet";

const ACTION_LABELS: Record<ToastAction, string> = {
  "open-settings": "Open Settings",
  "retry-engine": "Try again",
  "open-logs": "Open logs",
};

/** Errors stay 12 s, notices 6 s (or until dismissed). */
const LIFETIME_MS: Record<Toast["kind"], number> = { error: 12_000, info: 6_000 };

/**
 * Messages from any stage, above the input bar (in the flow of the page, so they never cover a
 * field), each with its fix as a button where there is one.
 */
export function Toasts() {
  const controller = useController();
  const toasts = useDuet((s) => s.toasts);
  const dismiss = useDuet((s) => s.dismissToast);
  const notice = useDuet((s) => s.notice);
  useEffect(() => {
    const first = toasts[0];
    if (!first) return;
    const timer = setTimeout(() => dismiss(first.id), LIFETIME_MS[first.kind]);
    return () => clearTimeout(timer);
  }, [toasts, dismiss]);
  const act = (toast: Toast) => {
    dismiss(toast.id);
    if (toast.action === "open-settings") useDuet.getState().setView("settings");
    else if (toast.action === "retry-engine") void controller.retryEngine();
    else if (toast.action === "open-logs") void controller.openLogsFolder();
  };
  if (!notice && toasts.length === 0) return null;
  return (
    <div className="toasts" role="alert" aria-live="assertive">
      {notice && (
        <div className="toast notice">
          <strong>Settings</strong> <span className="toast-message">{notice.message}</span>
        </div>
      )}
      {toasts.map((t) => (
        <div key={t.id} className="toast" data-stage={t.stage} data-kind={t.kind}>
          <strong>{toastTitle(t.stage)}</strong> <span className="toast-message">{t.message}</span>
          {t.action && <button onClick={() => act(t)}>{ACTION_LABELS[t.action]}</button>}
          <button className="dismiss" onClick={() => dismiss(t.id)} aria-label="Dismiss this message">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
