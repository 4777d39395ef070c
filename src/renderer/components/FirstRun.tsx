import { useEffect, useState } from "react";
import type { CatalogEntry } from "../../shared/ipc/contract.js";
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";
import { DownloadBar } from "./DownloadBar.js";
import { formatBytes, formatDuration } from "./format.js";

/** The connection speed download times are quoted for: 50 Mbit/s. */
const QUOTED_BYTES_PER_SECOND = 50e6 / 8;

/** Whether the browser thinks it is online, kept current. */
function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  return online;
}

/** Shown until a reasoning model is installed: the recommended model and speech pieces in one go. */
export function FirstRun() {
  const controller = useController();
  const recommendation = useDuet((s) => s.recommendation);
  const downloads = useDuet((s) => s.downloads);
  const catalog = useDuet((s) => s.catalog);
  const language = useDuet((s) => s.settings?.speech.language ?? "en");
  const importError = useDuet((s) => s.importError);
  const online = useOnline();
  const [pressed, setPressed] = useState(false);
  useEffect(() => {
    void controller.recommend();
  }, [controller]);
  const find = (id: string) => catalog.find((entry) => entry.id === id);
  const stt = find(language === "en" ? "whisper-base.en" : "whisper-base");
  const vad = find("silero-vad");
  const llm = recommendation
    ? (find(recommendation.recommendation.llm.id) ?? recommendation.recommendation.llm)
    : undefined;
  const picks = [llm, stt, vad].filter((e): e is CatalogEntry => e !== undefined);
  const totalBytes = picks.reduce((sum, e) => sum + e.sizeBytes, 0);
  const busy = picks.some((e) => {
    const d = downloads[e.id];
    return d && !d.done && !d.error;
  });
  const start = () => {
    setPressed(true);
    for (const entry of picks) void controller.download(entry.id);
  };
  return (
    <main className="first-run" aria-label="Welcome">
      <h2>Welcome to Duet</h2>
      <p>
        Duet runs a reasoning model on your computer. It needs one model to think and talk, and one to
        understand speech. Nothing leaves your machine.
      </p>
      {recommendation && llm ? (
        <>
          <p className="recommendation" data-testid="recommendation">
            {recommendation.recommendation.reason}
          </p>
          {!online && (
            <p className="offline" role="alert">
              You are offline. Connect to the internet to download the models; a download you start now
              continues by itself once the connection is back.
            </p>
          )}
          <button className="primary" onClick={start} disabled={busy}>
            <span className="button-title">
              {busy ? "Downloading…" : `Download ${llm.name} and speech recognition`}
            </span>
            <span className="button-detail">
              {formatBytes(totalBytes)} · about {formatDuration(totalBytes / QUOTED_BYTES_PER_SECOND)} at 50
              Mbit/s
            </span>
          </button>
          <div className="first-run-downloads">
            {picks.map((entry) =>
              downloads[entry.id] ? (
                <div key={entry.id} className="first-run-download">
                  <span className="model-name">{entry.name}</span>
                  <DownloadBar id={entry.id} label={entry.name} />
                </div>
              ) : null,
            )}
          </div>
          {pressed && !busy && picks.every((e) => downloads[e.id]?.done) && (
            <p role="status">Installed. Starting the model…</p>
          )}
        </>
      ) : (
        <p role="status">Checking your hardware…</p>
      )}
      <p>
        Or{" "}
        <button className="link" onClick={() => useDuet.getState().setView("settings")}>
          choose another model in Settings
        </button>
        , or{" "}
        <button className="link" onClick={() => void controller.chooseModelFile()}>
          use a model file you already have
        </button>{" "}
        (you can also drop a .gguf file on this window).
      </p>
      {importError && (
        <p className="field-error" role="alert">
          {importError}
        </p>
      )}
    </main>
  );
}
