import { useDuet } from "../store/store.js";
import { Composer } from "./Composer.js";
import { Conversation } from "./Conversation.js";
import { FirstRun, Settings } from "./Settings.js";
import { StateIndicator } from "./StateIndicator.js";
import { Toasts } from "./Toasts.js";

function EngineBanner() {
  const engine = useDuet((s) => s.engine);
  if (engine.status === "ready") return null;
  return (
    <div className="engine-banner" data-status={engine.status} role="status">
      {"message" in engine ? engine.message : ""}
    </div>
  );
}

export function App() {
  const view = useDuet((s) => s.view);
  const setView = useDuet((s) => s.setView);
  const noModel = useDuet((s) => s.engine.status === "no-model");
  const playing = useDuet((s) => s.playing);
  return (
    <div className="app" data-playing={playing}>
      <header className="app-header">
        <h1>Duet</h1>
        <StateIndicator />
        <nav>
          <button aria-pressed={view === "conversation"} onClick={() => setView("conversation")}>
            Conversation
          </button>
          <button aria-pressed={view === "settings"} onClick={() => setView("settings")}>
            Settings
          </button>
        </nav>
      </header>
      <EngineBanner />
      {view === "settings" ? <Settings /> : noModel ? <FirstRun /> : <Conversation />}
      <Composer />
      <Toasts />
    </div>
  );
}
