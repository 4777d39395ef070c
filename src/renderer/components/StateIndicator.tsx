import { useDuet } from "../store/store.js";

const LABELS = { idle: "Ready", listening: "Listening", thinking: "Thinking", speaking: "Speaking" } as const;

/** The session's state, announced to screen readers when it changes. */
export function StateIndicator() {
  const state = useDuet((s) => s.state);
  const engine = useDuet((s) => s.engine);
  const label =
    engine.status === "ready"
      ? LABELS[state]
      : engine.status === "no-model"
        ? "No model"
        : engine.status === "loading"
          ? "Loading"
          : engine.status === "crashed"
            ? "Restarting"
            : "Error";
  return (
    <div
      className="state"
      data-state={engine.status === "ready" ? state : engine.status}
      role="status"
      aria-live="polite"
    >
      <span className="state-dot" aria-hidden="true" />
      <span className="state-label">{label}</span>
    </div>
  );
}
