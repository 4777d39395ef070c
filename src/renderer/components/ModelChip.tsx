import { useDuet } from "../store/store.js";

/** Which model runs and where (CPU, or the GPU backend), in the header. */
export function ModelChip() {
  const engine = useDuet((s) => s.engine);
  const models = useDuet((s) => s.models);
  if (engine.status === "ready") {
    const name = models.find((m) => m.path === engine.modelPath)?.name ?? engine.model;
    return (
      <div className="model-chip" data-testid="model-chip" title={engine.modelPath}>
        <span className="visually-hidden">Model: </span>
        <span className="chip-model">{name}</span>
        <span className="chip-where">on the {engine.runsOn}</span>
      </div>
    );
  }
  if (engine.status === "loading")
    return (
      <div className="model-chip loading" data-testid="model-chip">
        {engine.message}
      </div>
    );
  return null;
}
