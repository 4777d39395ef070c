import { useDuet } from "../store/store.js";

const LABELS = { idle: "Ready", listening: "Listening", thinking: "Thinking", speaking: "Speaking" } as const;
const ENGINE_LABELS = {
  "no-model": "No model",
  "missing-model": "Model missing",
  loading: "Loading",
  crashed: "Restarting",
  failed: "Stopped",
} as const;

/** The session's state, announced to screen readers when it changes. */
export function StateIndicator() {
  const state = useDuet((s) => s.state);
  const engine = useDuet((s) => s.engine);
  const label = engine.status === "ready" ? LABELS[state] : ENGINE_LABELS[engine.status];
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
