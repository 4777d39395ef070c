import { useEffect, useState, type KeyboardEvent } from "react";
import type { CatalogEntry, ModelStatus } from "../../shared/ipc/contract.js";
import { GPU_CHOICES, LAYOUT_NAMES, REASONING_MODES, THOUGHT_SHARING } from "../../shared/choices.js";

/** The choice a select's value names, or undefined for anything else. */
function pick<T extends string>(choices: readonly T[], value: string): T | undefined {
  return choices.find((c) => c === value);
}
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";
import { formatBytes } from "./format.js";

function DownloadBar({ id }: { id: string }) {
  const d = useDuet((s) => s.downloads[id]);
  const controller = useController();
  if (!d || d.done) return null;
  if (d.error)
    return (
      <p className="download-error" role="alert">
        Download failed: {d.error}
      </p>
    );
  const pct = d.totalBytes ? Math.round((d.receivedBytes / d.totalBytes) * 100) : null;
  // What the download is doing, in words, when it is not moving bytes.
  const status =
    d.phase === "connecting"
      ? "Connecting…"
      : d.phase === "waiting"
        ? d.message
        : d.phase === "verifying"
          ? "Checking the file against its published checksum…"
          : d.phase === "installing"
            ? "Installing…"
            : null;
  return (
    <div className="download" data-phase={d.phase}>
      <progress value={d.receivedBytes} max={d.totalBytes ?? undefined} aria-label={`Downloading ${id}`} />
      {status ? (
        <span role="status">{status}</span>
      ) : (
        <span>
          {pct !== null ? `${pct}% · ` : ""}
          {formatBytes(d.receivedBytes)}
          {d.totalBytes ? ` of ${formatBytes(d.totalBytes)}` : ""} · {formatBytes(d.bytesPerSecond)}/s
          {d.etaSeconds !== null ? ` · ${Math.ceil(d.etaSeconds)} s left` : ""}
        </span>
      )}
      <button onClick={() => void controller.cancelDownload(id)}>Cancel</button>
    </div>
  );
}

function ModelRow({
  entry,
  status,
  selected,
  inUse,
  onSelect,
  fits,
}: {
  entry: CatalogEntry;
  status: ModelStatus | undefined;
  selected: boolean;
  inUse: boolean;
  onSelect: () => void;
  fits?: boolean;
}) {
  const controller = useController();
  const downloading = useDuet((s) => {
    const d = s.downloads[entry.id];
    return !!d && !d.done && !d.error;
  });
  const installed = status?.installed ?? false;
  return (
    <li className="model-row" data-selected={selected}>
      <div className="model-info">
        <span className="model-name">{entry.name}</span>
        <span className="badge">{formatBytes(entry.sizeBytes)}</span>
        {fits !== undefined && (
          <span className={`badge ${fits ? "fits" : "tight"}`}>
            {fits ? "fits your machine" : "may not fit"}
          </span>
        )}
        {installed && <span className="badge installed">installed</span>}
        {selected && <span className="badge selected">chosen</span>}
        {inUse && <span className="badge in-use">running</span>}
        <p className="model-description">{entry.description}</p>
        {!installed && (status?.partialBytes ?? 0) > 0 && !downloading && (
          <p className="model-description">
            {formatBytes(status!.partialBytes)} already downloaded; downloading again continues.
          </p>
        )}
        {!installed && status?.problem && !downloading && (
          <p className="model-description">{status.problem}</p>
        )}
        <DownloadBar id={entry.id} />
      </div>
      <div className="model-actions">
        {installed ? (
          <>
            {!selected && <button onClick={onSelect}>Use</button>}
            <button
              className="secondary"
              onClick={() => void controller.removeModel(entry.id)}
              aria-label={`Delete ${entry.name}`}
            >
              Delete
            </button>
          </>
        ) : (
          <button onClick={() => void controller.download(entry.id)} disabled={downloading}>
            {(status?.partialBytes ?? 0) > 0 ? "Resume" : "Download"}
          </button>
        )}
      </div>
    </li>
  );
}

function HotkeyField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [capturing, setCapturing] = useState(false);
  const onKeyDown = (e: KeyboardEvent<HTMLButtonElement>) => {
    if (!capturing) return;
    e.preventDefault();
    if (["Control", "Alt", "Shift", "Meta"].includes(e.key)) return;
    const key = e.code === "Space" ? "Space" : e.key.length === 1 ? e.key.toUpperCase() : e.key;
    const parts = [
      e.ctrlKey && "Control",
      e.altKey && "Alt",
      e.shiftKey && "Shift",
      e.metaKey && "Meta",
      key,
    ].filter(Boolean);
    setCapturing(false);
    onChange(parts.join("+"));
  };
  return (
    <button
      className="hotkey"
      onClick={() => setCapturing(true)}
      onKeyDown={onKeyDown}
      onBlur={() => setCapturing(false)}
      aria-label="Push-to-talk hotkey: click, then press the keys"
    >
      {capturing ? "Press the keys…" : value}
    </button>
  );
}

function MirrorField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <form
      className="import"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(draft.trim());
      }}
    >
      <label htmlFor="mirror">Download mirror for Hugging Face files (leave empty for huggingface.co)</label>
      <input
        id="mirror"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        placeholder="https://hf-mirror.example"
      />
      <button type="submit">Save</button>
      <span className="hint" data-testid="mirror-in-use">
        {value ? `Downloads use ${value}` : "Downloads use huggingface.co"}
      </span>
    </form>
  );
}

export function Settings() {
  const controller = useController();
  const settings = useDuet((s) => s.settings);
  const models = useDuet((s) => s.models);
  const catalog = useDuet((s) => s.catalog);
  const recommendation = useDuet((s) => s.recommendation);
  const engine = useDuet((s) => s.engine);
  const [importPath, setImportPath] = useState("");
  useEffect(() => {
    void controller.refreshModels();
    void controller.recommend();
  }, [controller]);
  if (!settings) return <main className="settings">Loading settings…</main>;
  const status = (id: string) => models.find((m) => m.id === id);
  const fits = (entry: CatalogEntry) => {
    if (!recommendation || entry.kind !== "llm") return undefined;
    const r = recommendation.recommendation;
    return (
      entry.sizeBytes <= r.llm.sizeBytes ||
      entry.sizeBytes + (r.neededBytes - r.llm.sizeBytes) <= r.budgetBytes
    );
  };
  const section = (kind: CatalogEntry["kind"]) => catalog.filter((c) => c.kind === kind);
  // Models that are not in the catalog: imported ones and GGUF files put in the models folder.
  const others = models.filter((m) => m.source !== "catalog");
  const use = (key: "llm" | "stt" | "voice", id: string | null) =>
    void controller.updateSettings({ models: { [key]: id } });
  // The model actually running is the engine's to say; the settings hold what the user chose.
  const running = engine.status === "ready" ? engine.modelPath : undefined;
  const chosenLlm = settings.models.llm;
  const isChosen = (m: { id: string; path?: string }) =>
    chosenLlm !== null && (chosenLlm === m.id || chosenLlm === m.path);
  return (
    <main className="settings" aria-label="Settings">
      <h2>Settings</h2>
      {engine.status === "ready" && engine.notices.length > 0 && (
        <ul className="notices">
          {engine.notices.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <section aria-labelledby="s-model">
        <h3 id="s-model">Reasoning model</h3>
        {recommendation && <p className="hint">{recommendation.recommendation.reason}</p>}
        <ul className="model-list">
          {section("llm").map((entry) => (
            <ModelRow
              key={entry.id}
              entry={entry}
              status={status(entry.id)}
              selected={isChosen({
                id: entry.id,
                ...(status(entry.id) ? { path: status(entry.id)!.path } : {}),
              })}
              inUse={running !== undefined && status(entry.id)?.path === running}
              onSelect={() => use("llm", entry.id)}
              fits={fits(entry)}
            />
          ))}
          {others
            .filter((m) => m.kind === "llm")
            .map((m) => (
              <li key={m.id} className="model-row" data-selected={isChosen(m)}>
                <div className="model-info">
                  <span className="model-name">{m.name}</span>{" "}
                  <span className="badge">
                    {m.source === "imported" ? "imported" : "in your models folder"}
                  </span>
                  {!m.installed && <span className="badge tight">missing</span>}
                  {isChosen(m) && <span className="badge selected">chosen</span>}
                  {running === m.path && <span className="badge in-use">running</span>}
                  <p className="model-description">{m.path}</p>
                </div>
                <div className="model-actions">
                  {!isChosen(m) && m.installed && <button onClick={() => use("llm", m.path)}>Use</button>}
                  {m.source === "imported" && (
                    <button className="secondary" onClick={() => void controller.removeModel(m.id)}>
                      Forget
                    </button>
                  )}
                </div>
              </li>
            ))}
        </ul>
        {chosenLlm === null && (
          <p className="hint" data-testid="model-choice">
            No model chosen: Duet uses the newest one installed.
          </p>
        )}
        <form
          className="import"
          onSubmit={(e) => {
            e.preventDefault();
            if (importPath.trim()) void controller.importModel(importPath.trim());
          }}
        >
          <label htmlFor="import-path">
            Use a model file you already have (GGUF, whisper or voice folder)
          </label>
          <input
            id="import-path"
            value={importPath}
            onChange={(e) => setImportPath(e.target.value)}
            placeholder="/path/to/model.gguf"
          />
          <button type="submit">Import</button>
        </form>
      </section>

      <section aria-labelledby="s-mirror">
        <h3 id="s-mirror">Downloads</h3>
        <MirrorField
          value={settings.models.mirrorBaseUrl ?? ""}
          onChange={(v) => void controller.updateSettings({ models: { mirrorBaseUrl: v === "" ? null : v } })}
        />
      </section>

      <section aria-labelledby="s-hw">
        <h3 id="s-hw">Hardware</h3>
        <label>
          GPU backend{" "}
          <select
            value={settings.hardware.gpu}
            onChange={(e) => {
              const gpu = GPU_CHOICES.find((g) => g === e.target.value);
              if (gpu) void controller.updateSettings({ hardware: { gpu } });
            }}
          >
            {GPU_CHOICES.map((g) => (
              <option key={g} value={g}>
                {g === "auto" ? "Automatic" : g === "cpu" ? "CPU only" : g.toUpperCase()}
              </option>
            ))}
          </select>
        </label>
        {recommendation && (
          <p className="hint">
            {recommendation.hardware.cpuThreads} CPU threads, {formatBytes(recommendation.hardware.ramBytes)}{" "}
            RAM
            {recommendation.hardware.gpus
              .map(
                (g) =>
                  ` · ${g.backend}: ${g.usable ? `${formatBytes(g.vramBytes ?? 0)}${g.devices?.[0] ? ` (${g.devices[0]})` : ""}` : (g.problem ?? "unavailable")}`,
              )
              .join("")}
          </p>
        )}
      </section>

      <section aria-labelledby="s-stt">
        <h3 id="s-stt">Speech to text</h3>
        <ul className="model-list">
          {section("stt").map((entry) => (
            <ModelRow
              key={entry.id}
              entry={entry}
              status={status(entry.id)}
              selected={settings.models.stt === entry.id}
              inUse={false}
              onSelect={() => use("stt", entry.id)}
            />
          ))}
        </ul>
        <label>
          Language{" "}
          <select
            value={settings.speech.language}
            onChange={(e) => void controller.updateSettings({ speech: { language: e.target.value } })}
          >
            {[
              ["en", "English"],
              ["auto", "Detect"],
              ["de", "German"],
              ["fr", "French"],
              ["es", "Spanish"],
              ["it", "Italian"],
              ["pt", "Portuguese"],
              ["nl", "Dutch"],
              ["ja", "Japanese"],
              ["zh", "Chinese"],
            ].map(([code, name]) => (
              <option key={code} value={code}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </section>

      <section aria-labelledby="s-voice">
        <h3 id="s-voice">Voice</h3>
        <ul className="model-list">
          <li className="model-row" data-selected={settings.models.voice === null}>
            <div className="model-info">
              <span className="model-name">System voice</span>
              <p className="model-description">Your operating system's voice; no download needed.</p>
            </div>
            <div className="model-actions">
              {settings.models.voice !== null && <button onClick={() => use("voice", null)}>Use</button>}
            </div>
          </li>
          {section("tts").map((entry) => (
            <ModelRow
              key={entry.id}
              entry={entry}
              status={status(entry.id)}
              selected={settings.models.voice === entry.id}
              inUse={false}
              onSelect={() => use("voice", entry.id)}
            />
          ))}
        </ul>
        <button onClick={() => void controller.previewVoice()} disabled={engine.status !== "ready"}>
          Preview voice
        </button>
        <label>
          Speaking rate{" "}
          <input
            type="range"
            min={0.5}
            max={2}
            step={0.1}
            value={settings.speech.rate}
            onChange={(e) => void controller.updateSettings({ speech: { rate: Number(e.target.value) } })}
            aria-valuetext={`${settings.speech.rate} times`}
          />
        </label>
      </section>

      <section aria-labelledby="s-hotkey">
        <h3 id="s-hotkey">Push-to-talk hotkey</h3>
        <HotkeyField
          value={settings.hotkey.pushToTalk}
          onChange={(v) => void controller.updateSettings({ hotkey: { pushToTalk: v } })}
        />
      </section>

      <section aria-labelledby="s-reasoning">
        <h3 id="s-reasoning">Reasoning</h3>
        <label>
          Mode{" "}
          <select
            value={settings.reasoning.mode}
            onChange={(e) => {
              const mode = pick(REASONING_MODES, e.target.value);
              if (mode) void controller.updateSettings({ reasoning: { mode } });
            }}
          >
            <option value="async">Think while talking (asynchronous)</option>
            <option value="thinking">Think first, then answer</option>
            <option value="nothinking">Answer without thinking</option>
          </select>
        </label>
        <label>
          Layout{" "}
          <select
            value={settings.reasoning.layout}
            onChange={(e) => {
              const layout = pick(LAYOUT_NAMES, e.target.value);
              if (layout) void controller.updateSettings({ reasoning: { layout } });
            }}
          >
            <option value="paper">Paper (the thinker sees the answer)</option>
            <option value="compact">Compact (fewer moves)</option>
          </select>
        </label>
        <label>
          Thought sharing{" "}
          <select
            value={settings.reasoning.thoughtSharing}
            onChange={(e) => {
              const thoughtSharing = pick(THOUGHT_SHARING, e.target.value);
              if (thoughtSharing) void controller.updateSettings({ reasoning: { thoughtSharing } });
            }}
          >
            <option value="auto">Automatic (every step on a GPU, in chunks on the CPU)</option>
            <option value="every-step">
              Every step: the answer always sees the newest thoughts (slower on a CPU)
            </option>
            <option value="chunks">
              In chunks: faster on a CPU; the answer may lag a few words behind the thoughts
            </option>
          </select>
        </label>
        <label>
          Ask every{" "}
          <input
            type="number"
            min={1}
            max={500}
            value={settings.reasoning.probeInterval}
            onChange={(e) =>
              void controller.updateSettings({ reasoning: { probeInterval: Number(e.target.value) } })
            }
          />{" "}
          steps whether the answer may go on
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={settings.reasoning.safety}
            onChange={(e) => void controller.updateSettings({ reasoning: { safety: e.target.checked } })}
          />{" "}
          Safety mode: check each request before answering
        </label>
      </section>

      <section aria-labelledby="s-troubleshooting">
        <h3 id="s-troubleshooting">Troubleshooting</h3>
        <p className="hint">
          Duet writes what its main and engine processes do, and any crash, to files in its data folder.
        </p>
        <button onClick={() => void controller.openLogsFolder()}>Open logs folder</button>
      </section>
    </main>
  );
}

/** Shown until a reasoning model is installed: the recommended model and speech pieces in one go. */
export function FirstRun() {
  const controller = useController();
  const recommendation = useDuet((s) => s.recommendation);
  const downloads = useDuet((s) => s.downloads);
  const catalog = useDuet((s) => s.catalog);
  useEffect(() => {
    void controller.recommend();
  }, [controller]);
  // People read the models' names, not the catalog's ids.
  const nameOf = (id: string) => catalog.find((entry) => entry.id === id)?.name ?? id;
  const picks = recommendation ? [recommendation.recommendation.llm.id, "whisper-base.en"] : [];
  return (
    <main className="first-run" aria-label="Welcome">
      <h2>Welcome to Duet</h2>
      <p>
        Duet runs a reasoning model on your computer. It needs one model to think and talk, and one to
        understand speech. Nothing leaves your machine.
      </p>
      {recommendation ? (
        <>
          <p className="hint">{recommendation.recommendation.reason}</p>
          <button className="primary" onClick={() => picks.forEach((id) => void controller.download(id))}>
            Download {recommendation.recommendation.llm.name} and Whisper base
          </button>
          {picks.map((id) => (
            <div key={id}>
              {downloads[id] && <span className="model-name">{nameOf(id)}</span>}
              <DownloadBar id={id} />
            </div>
          ))}
        </>
      ) : (
        <p>Checking your hardware…</p>
      )}
      <p>
        Or choose in{" "}
        <button className="link" onClick={() => useDuet.getState().setView("settings")}>
          Settings
        </button>
        .
      </p>
    </main>
  );
}
