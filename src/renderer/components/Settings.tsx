import { useEffect, useState, type KeyboardEvent } from "react";
import type { CatalogEntry, ModelStatus, SpeedEstimate } from "../../shared/ipc/contract.js";
import { GPU_CHOICES, LAYOUT_NAMES, REASONING_MODES, THOUGHT_SHARING } from "../../shared/choices.js";
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";
import { DownloadBar } from "./DownloadBar.js";
import { formatBytes } from "./format.js";

/** The choice a select's value names, or undefined for anything else. */
function pick<T extends string>(choices: readonly T[], value: string): T | undefined {
  return choices.find((c) => c === value);
}

/** Whether a model answers at speaking pace here, in words, as a badge. */
function SpeedBadge({ estimate }: { estimate: SpeedEstimate | undefined }) {
  if (!estimate) return null;
  if (!estimate.fitsMemory) return <span className="badge tight">too big for this machine</span>;
  return estimate.speakingPace ? (
    <span
      className="badge fits"
      title={`About ${estimate.wordsPerSecond} words a second on the ${estimate.runsOn}`}
    >
      fits: answers at speaking pace
    </span>
  ) : (
    <span
      className="badge tight"
      title={`About ${estimate.wordsPerSecond} words a second on the ${estimate.runsOn}`}
    >
      slower than speech here (~{estimate.wordsPerSecond} words/s)
    </span>
  );
}

function ModelRow({
  entry,
  status,
  selected,
  inUse,
  onSelect,
  estimate,
}: {
  entry: CatalogEntry;
  status: ModelStatus | undefined;
  selected: boolean;
  inUse: boolean;
  onSelect: () => void;
  estimate?: SpeedEstimate | undefined;
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
        <SpeedBadge estimate={estimate} />
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
        <DownloadBar id={entry.id} label={entry.name} />
      </div>
      <div className="model-actions">
        {installed ? (
          <>
            {!selected && (
              <button onClick={onSelect} aria-label={`Use ${entry.name}`}>
                Use
              </button>
            )}
            <button
              className="secondary"
              onClick={() => void controller.removeModel(entry.id)}
              aria-label={`Delete ${entry.name}`}
            >
              Delete
            </button>
          </>
        ) : (
          <button
            onClick={() => void controller.download(entry.id)}
            disabled={downloading}
            aria-label={`${(status?.partialBytes ?? 0) > 0 ? "Resume" : "Download"} ${entry.name}`}
          >
            {(status?.partialBytes ?? 0) > 0 ? "Resume" : "Download"}
          </button>
        )}
      </div>
    </li>
  );
}

/** A model file that is not from the catalog: in the models folder, imported, or found in another app's folder. */
function FileModelRow({
  model,
  chosen,
  running,
  onUse,
}: {
  model: ModelStatus;
  chosen: boolean;
  running: boolean;
  onUse: () => void;
}) {
  const controller = useController();
  const where =
    model.source === "imported"
      ? "imported"
      : model.source === "found"
        ? `from ${model.foundIn ?? "another app"}`
        : "in your models folder";
  return (
    <li className="model-row" data-selected={chosen} data-source={model.source}>
      <div className="model-info">
        <span className="model-name">{model.name}</span> <span className="badge">{where}</span>
        {model.sizeBytes > 0 && <span className="badge">{formatBytes(model.sizeBytes)}</span>}
        {!model.installed && <span className="badge tight">missing</span>}
        {chosen && <span className="badge selected">chosen</span>}
        {running && <span className="badge in-use">running</span>}
        <p className="model-description">{model.path}</p>
        {model.problem && <p className="model-description">{model.problem}</p>}
      </div>
      <div className="model-actions">
        {!chosen && model.installed && (
          <button onClick={onUse} aria-label={`Use ${model.name}`}>
            Use
          </button>
        )}
        {model.source === "imported" && (
          <button
            className="secondary"
            onClick={() => void controller.removeModel(model.id)}
            aria-label={`Forget ${model.name}`}
          >
            Forget
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
    if (e.key === "Escape") {
      setCapturing(false);
      return;
    }
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
      aria-label={`Push-to-talk hotkey: ${value}. Press to change, then press the new keys (Escape keeps it).`}
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

function ImportField() {
  const controller = useController();
  const importError = useDuet((s) => s.importError);
  const [importPath, setImportPath] = useState("");
  return (
    <div className="import-box">
      <form
        className="import"
        onSubmit={(e) => {
          e.preventDefault();
          if (importPath.trim())
            void controller.importModel(importPath.trim()).then((ok) => ok && setImportPath(""));
        }}
      >
        <label htmlFor="import-path">Use a model file you already have (GGUF, whisper or voice folder)</label>
        <button type="button" onClick={() => void controller.chooseModelFile()}>
          Choose a file…
        </button>
        <input
          id="import-path"
          value={importPath}
          onChange={(e) => setImportPath(e.target.value)}
          placeholder="or type its path: /path/to/model.gguf"
          aria-describedby={importError ? "import-error" : undefined}
        />
        <button type="submit">Import</button>
      </form>
      {importError ? (
        <p className="field-error" id="import-error" role="alert">
          {importError}
        </p>
      ) : (
        <p className="hint">You can also drop a .gguf file anywhere on this window.</p>
      )}
    </div>
  );
}

export function Settings() {
  const controller = useController();
  const settings = useDuet((s) => s.settings);
  const models = useDuet((s) => s.models);
  const catalog = useDuet((s) => s.catalog);
  const recommendation = useDuet((s) => s.recommendation);
  const engine = useDuet((s) => s.engine);
  useEffect(() => {
    void controller.refreshModels();
    void controller.recommend();
  }, [controller]);
  if (!settings) return <main className="settings">Loading settings…</main>;
  const status = (id: string) => models.find((m) => m.id === id);
  const estimate = (entry: CatalogEntry) =>
    recommendation?.recommendation.estimates?.find((e) => e.id === entry.id);
  const section = (kind: CatalogEntry["kind"]) => catalog.filter((c) => c.kind === kind);
  const own = models.filter((m) => m.kind === "llm" && (m.source === "imported" || m.source === "folder"));
  const found = models.filter((m) => m.kind === "llm" && m.source === "found");
  const use = (key: "llm" | "stt" | "voice", id: string | null) =>
    void controller.updateSettings({ models: { [key]: id } });
  const update = controller.updateSettings.bind(controller);
  // The model actually running is the engine's to say; the settings hold what the user chose.
  const running = engine.status === "ready" ? engine.modelPath : undefined;
  const chosenLlm = settings.models.llm;
  const isChosen = (m: { id: string; path?: string }) =>
    chosenLlm !== null && (chosenLlm === m.id || chosenLlm === m.path);
  /** A model file in the folder, imported, or found elsewhere: the same row wherever it is listed. */
  const fileRow = (m: ModelStatus) => (
    <FileModelRow
      key={m.id}
      model={m}
      chosen={isChosen(m)}
      running={running === m.path}
      onUse={() => use("llm", m.path)}
    />
  );
  const speech = settings.speech;
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
        <ul className="model-list" aria-label="Reasoning models to download">
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
              estimate={estimate(entry)}
            />
          ))}
          {own.map(fileRow)}
        </ul>
        {chosenLlm === null && (
          <p className="hint" data-testid="model-choice">
            No model chosen: Duet uses the newest one installed.
          </p>
        )}
        {found.length > 0 && (
          <>
            <h4 id="s-found">Found on this computer</h4>
            <p className="hint">
              Models other apps downloaded. Duet uses them where they are, without copying them.
            </p>
            <ul className="model-list" aria-labelledby="s-found">
              {found.map(fileRow)}
            </ul>
          </>
        )}
        <ImportField />
      </section>

      <section aria-labelledby="s-talk">
        <h3 id="s-talk">Talking</h3>
        <label className="check">
          <input
            type="checkbox"
            checked={speech.handsFree}
            onChange={(e) => void update({ speech: { handsFree: e.target.checked } })}
          />
          Hands-free: Duet listens all the time and answers when you pause (no button to hold)
        </label>
        <label htmlFor="pause">
          My turn ends after a pause of <strong>{(speech.pauseMs / 1000).toFixed(1)} s</strong>
        </label>
        <input
          id="pause"
          type="range"
          min={300}
          max={3000}
          step={100}
          value={speech.pauseMs}
          disabled={!speech.handsFree}
          onChange={(e) => void update({ speech: { pauseMs: Number(e.target.value) } })}
          aria-valuetext={`${(speech.pauseMs / 1000).toFixed(1)} seconds`}
        />
        <label className="check">
          <input
            type="checkbox"
            checked={speech.interruptBySpeaking}
            disabled={!speech.handsFree}
            onChange={(e) => void update({ speech: { interruptBySpeaking: e.target.checked } })}
          />
          Talking over the answer interrupts it (turn off if your speakers make Duet interrupt itself)
        </label>
      </section>

      <section aria-labelledby="s-mirror">
        <h3 id="s-mirror">Downloads</h3>
        <MirrorField
          value={settings.models.mirrorBaseUrl ?? ""}
          onChange={(v) => void update({ models: { mirrorBaseUrl: v === "" ? null : v } })}
        />
      </section>

      <section aria-labelledby="s-hw">
        <h3 id="s-hw">Hardware</h3>
        <label>
          Where the model runs{" "}
          <select
            value={settings.hardware.gpu}
            onChange={(e) => {
              const gpu = GPU_CHOICES.find((g) => g === e.target.value);
              if (gpu) void update({ hardware: { gpu } });
            }}
          >
            {GPU_CHOICES.map((g) => (
              <option key={g} value={g}>
                {g === "auto"
                  ? "Automatic (a GPU when one works)"
                  : g === "cpu"
                    ? "CPU only"
                    : `${g.toUpperCase()} GPU`}
              </option>
            ))}
          </select>
        </label>
        {recommendation && (
          <p className="hint">
            {recommendation.hardware.cpuThreads} CPU threads, {formatBytes(recommendation.hardware.ramBytes)}{" "}
            memory
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
        <h3 id="s-stt">Speech recognition</h3>
        <ul className="model-list" aria-labelledby="s-stt">
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
          Language you speak{" "}
          <select
            value={speech.language}
            onChange={(e) => void update({ speech: { language: e.target.value } })}
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
        <ul className="model-list" aria-labelledby="s-voice">
          <li className="model-row" data-selected={settings.models.voice === null}>
            <div className="model-info">
              <span className="model-name">System voice</span>
              <p className="model-description">Your operating system's voice; no download needed.</p>
            </div>
            <div className="model-actions">
              {settings.models.voice !== null && (
                <button onClick={() => use("voice", null)} aria-label="Use the system voice">
                  Use
                </button>
              )}
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
        <label htmlFor="rate">
          Speaking speed <strong>{speech.rate.toFixed(1)}×</strong>
        </label>
        <input
          id="rate"
          type="range"
          min={0.5}
          max={2}
          step={0.1}
          value={speech.rate}
          onChange={(e) => void update({ speech: { rate: Number(e.target.value) } })}
          aria-valuetext={`${speech.rate.toFixed(1)} times normal speed`}
        />
        <button onClick={() => void controller.previewVoice()} disabled={engine.status !== "ready"}>
          Preview the voice
        </button>
      </section>

      <section aria-labelledby="s-hotkey">
        <h3 id="s-hotkey">Push-to-talk hotkey</h3>
        <HotkeyField
          value={settings.hotkey.pushToTalk}
          onChange={(v) => void update({ hotkey: { pushToTalk: v } })}
        />
      </section>

      <section aria-labelledby="s-reasoning">
        <h3 id="s-reasoning">How Duet thinks</h3>
        <label>
          Mode{" "}
          <select
            value={settings.reasoning.mode}
            onChange={(e) => {
              const mode = pick(REASONING_MODES, e.target.value);
              if (mode) void update({ reasoning: { mode } });
            }}
          >
            <option value="async">Think while talking</option>
            <option value="thinking">Think first, then answer (slow to start)</option>
            <option value="nothinking">Answer without thinking</option>
          </select>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={settings.reasoning.safety}
            onChange={(e) => void update({ reasoning: { safety: e.target.checked } })}
          />
          Check each request is safe before answering
        </label>
        <details className="advanced">
          <summary>Advanced</summary>
          <div className="advanced-body">
            <label>
              What the thinking sees{" "}
              <select
                value={settings.reasoning.layout}
                onChange={(e) => {
                  const layout = pick(LAYOUT_NAMES, e.target.value);
                  if (layout) void update({ reasoning: { layout } });
                }}
              >
                <option value="paper">The question and the answer so far (as in the paper)</option>
                <option value="compact">Only the question (less work for the computer)</option>
              </select>
            </label>
            <label>
              When the answer sees new thoughts{" "}
              <select
                value={settings.reasoning.thoughtSharing}
                onChange={(e) => {
                  const thoughtSharing = pick(THOUGHT_SHARING, e.target.value);
                  if (thoughtSharing) void update({ reasoning: { thoughtSharing } });
                }}
              >
                <option value="auto">Automatic (at once on a GPU, in batches on the CPU)</option>
                <option value="every-step">At once (slower on a CPU)</option>
                <option value="chunks">In batches (faster on a CPU; the answer may lag a few words)</option>
              </select>
            </label>
            <label htmlFor="probe">
              How often the model checks that its thoughts are far enough ahead to keep talking: every
            </label>
            <div className="inline-field">
              <input
                id="probe"
                type="number"
                min={1}
                max={500}
                value={settings.reasoning.probeInterval}
                onChange={(e) => void update({ reasoning: { probeInterval: Number(e.target.value) } })}
              />
              <span>thinking steps (and at every paragraph)</span>
            </div>
          </div>
        </details>
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
