import { useState, type DragEvent } from "react";
import { useDuet } from "../store/store.js";
import { Composer } from "./Composer.js";
import { useController } from "./context.js";
import { Conversation } from "./Conversation.js";
import { EngineBanner } from "./EngineBanner.js";
import { FirstRun } from "./FirstRun.js";
import { ModelChip } from "./ModelChip.js";
import { Settings } from "./Settings.js";
import { Sidebar } from "./Sidebar.js";
import { StateIndicator } from "./StateIndicator.js";
import { Toasts } from "./Toasts.js";

const hasFiles = (event: DragEvent) => Array.from(event.dataTransfer.types).includes("Files");

export function App() {
  const controller = useController();
  const view = useDuet((s) => s.view);
  const setView = useDuet((s) => s.setView);
  const noModel = useDuet((s) => s.engine.status === "no-model");
  const playing = useDuet((s) => s.playing);
  const [dropping, setDropping] = useState(false);
  return (
    <div
      className="app"
      data-playing={playing}
      data-dropping={dropping}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        setDropping(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDropping(false);
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDropping(false);
        void controller.dropFiles(Array.from(e.dataTransfer.files));
      }}
    >
      <header className="app-header">
        <h1>Duet</h1>
        <StateIndicator />
        <ModelChip />
        <nav aria-label="Views">
          <button aria-pressed={view === "conversation"} onClick={() => setView("conversation")}>
            Conversation
          </button>
          <button aria-pressed={view === "settings"} onClick={() => setView("settings")}>
            Settings
          </button>
        </nav>
      </header>
      <EngineBanner />
      <div className="app-body">
        <Sidebar />
        <div className="app-main">
          {view === "settings" ? <Settings /> : noModel ? <FirstRun /> : <Conversation />}
          <Toasts />
          <Composer />
        </div>
      </div>
      {dropping && (
        <div className="drop-overlay" aria-hidden="true">
          Drop a .gguf model file to use it
        </div>
      )}
    </div>
  );
}
