import { useEffect } from "react";
import { useDuet } from "../store/store.js";

/** Errors from any stage, shown until dismissed (or 8 seconds). */
export function Toasts() {
  const toasts = useDuet((s) => s.toasts);
  const dismiss = useDuet((s) => s.dismissToast);
  const notice = useDuet((s) => s.notice);
  useEffect(() => {
    if (toasts.length === 0) return;
    const timer = setTimeout(() => dismiss(toasts[0]!.id), 8000);
    return () => clearTimeout(timer);
  }, [toasts, dismiss]);
  return (
    <div className="toasts" role="alert" aria-live="assertive">
      {notice && <div className="toast notice">{notice.message}</div>}
      {toasts.map((t) => (
        <div key={t.id} className="toast" data-stage={t.stage}>
          <strong>{t.stage}</strong> {t.message}
          <button onClick={() => dismiss(t.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
