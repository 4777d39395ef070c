import type { CatalogEntry, EngineStatus, ModelStatus } from "../../shared/ipc/contract.js";
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";
import { DownloadBar } from "./DownloadBar.js";

/** The catalog model a missing choice names (by id, or by the path it downloads to), if any. */
function catalogModelFor(
  choice: string,
  models: readonly ModelStatus[],
  catalog: readonly CatalogEntry[],
): CatalogEntry | undefined {
  const listed = models.find((m) => m.source === "catalog" && (m.id === choice || m.path === choice));
  return catalog.find((e) => e.id === (listed?.id ?? choice));
}

function titleOf(engine: EngineStatus): string {
  switch (engine.status) {
    case "missing-model":
      return "The chosen model is missing";
    case "failed":
      return "The model could not run";
    case "crashed":
      return "Restarting the engine";
    default:
      return "";
  }
}

/**
 * What keeps the assistant from answering, in words, with the fixes as buttons: download the
 * model again, choose another one, try again, open the logs. It goes away by itself once fixed
 * (the main process looks for a missing file again every few seconds).
 */
export function EngineBanner() {
  const controller = useController();
  const engine = useDuet((s) => s.engine);
  const models = useDuet((s) => s.models);
  const catalog = useDuet((s) => s.catalog);
  const setView = useDuet((s) => s.setView);
  // Loading is said in the header; "no model" is the welcome page's to say.
  if (engine.status === "ready" || engine.status === "loading" || engine.status === "no-model") return null;
  const missing =
    engine.status === "missing-model" ? catalogModelFor(engine.choice, models, catalog) : undefined;
  const chooseAnother = <button onClick={() => setView("settings")}>Choose another model</button>;
  return (
    <div className="engine-banner" data-status={engine.status} role="alert">
      <div className="banner-text">
        <strong>{titleOf(engine)}</strong>
        <span className="banner-message">{engine.message}</span>
        {engine.status === "crashed" && (
          <span className="banner-message">Restarting in {(engine.restartInMs / 1000).toFixed(1)} s…</span>
        )}
        {missing && <DownloadBar id={missing.id} />}
      </div>
      <div className="banner-actions">
        {missing && (
          <button className="primary-small" onClick={() => void controller.download(missing.id)}>
            Download again
          </button>
        )}
        {(engine.status === "missing-model" || engine.status === "failed") && chooseAnother}
        {(engine.status === "missing-model" || engine.status === "failed") && (
          <button onClick={() => void controller.retryEngine()}>
            {engine.status === "missing-model" ? "Check again" : "Try again"}
          </button>
        )}
        {engine.status !== "missing-model" && (
          <button onClick={() => void controller.openLogsFolder()}>Open logs</button>
        )}
      </div>
    </div>
  );
}
