import { useRef, useState, type KeyboardEvent } from "react";
import type { EngineStatus } from "../../shared/ipc/contract.js";
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";

function LevelMeter() {
  const level = useDuet((s) => s.micLevel);
  const pct = Math.min(100, Math.round(Math.sqrt(level) * 180));
  return (
    <div className="meter-box">
      <span className="meter-label" aria-hidden="true">
        Mic
      </span>
      <div
        className="meter"
        role="meter"
        aria-label="Microphone level"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={pct === 0 ? "silent" : `${pct} percent`}
      >
        <div className="meter-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** What the input field says while the model cannot take a question. */
function placeholderFor(engine: EngineStatus): string {
  switch (engine.status) {
    case "ready":
      return "Type a question…";
    case "loading":
      return "Loading the model…";
    case "no-model":
      return "Download a model to start";
    case "crashed":
      return "Restarting the engine…";
    default:
      return "Fix the problem above to continue";
  }
}

/** Hold to talk (pointer, or Space/Enter while focused), or hands-free, or type. */
export function Composer() {
  const controller = useController();
  const state = useDuet((s) => s.state);
  const engine = useDuet((s) => s.engine);
  const ready = engine.status === "ready";
  const hotkey = useDuet((s) => s.settings?.hotkey.pushToTalk ?? "");
  const handsFree = useDuet((s) => s.settings?.speech.handsFree ?? false);
  const muted = useDuet((s) => s.muted);
  const hotkeyDown = useDuet((s) => s.hotkeyDown);
  const [text, setText] = useState("");
  const holding = useRef(false);
  const press = (down: boolean) => {
    if (holding.current === down) return;
    holding.current = down;
    void controller.pushToTalk(down);
  };
  const onKey = (event: KeyboardEvent<HTMLButtonElement>, down: boolean) => {
    if (event.key !== " " && event.key !== "Enter") return;
    event.preventDefault();
    if (down && event.repeat) return;
    press(down);
  };
  const send = () => {
    if (!text.trim()) return;
    void controller.sendText(text);
    setText("");
  };
  const listening = state === "listening" || hotkeyDown;
  return (
    <footer className="composer">
      <button
        className="mode"
        aria-pressed={handsFree}
        onClick={() => void controller.updateSettings({ speech: { handsFree: !handsFree } })}
        title="Hands-free: Duet listens all the time and answers when you pause"
      >
        Hands-free
      </button>
      {handsFree ? (
        <>
          <div className="hands-free" data-active={listening} role="status">
            <span className="ptt-icon" aria-hidden="true">
              ●
            </span>
            {!ready
              ? "Hands-free (waiting for the model)"
              : muted
                ? "Muted"
                : listening
                  ? "Listening…"
                  : "Speak any time"}
          </div>
          <button
            className="mute"
            aria-pressed={muted}
            disabled={!ready}
            onClick={() => controller.setMuted(!muted)}
          >
            {muted ? "Unmute" : "Mute"}
          </button>
        </>
      ) : (
        <button
          className="ptt"
          data-active={listening}
          disabled={!ready}
          aria-pressed={listening}
          aria-label={`Hold to talk${hotkey ? ` (or hold ${hotkey})` : ""}`}
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            press(true);
          }}
          onPointerUp={() => press(false)}
          onPointerCancel={() => press(false)}
          onKeyDown={(e) => onKey(e, true)}
          onKeyUp={(e) => onKey(e, false)}
          onBlur={() => press(false)}
        >
          <span className="ptt-icon" aria-hidden="true">
            ●
          </span>
          <span className="ptt-text">
            <span>{listening ? "Listening…" : "Hold to talk"}</span>
            {hotkey && (
              <span className="ptt-hotkey" aria-hidden="true">
                or {hotkey}
              </span>
            )}
          </span>
        </button>
      )}
      <LevelMeter />
      <form
        className="text-input"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <label htmlFor="message" className="visually-hidden">
          Type a question
        </label>
        <input
          id="message"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={placeholderFor(engine)}
          disabled={!ready}
          autoComplete="off"
        />
        <button type="submit" disabled={!ready || !text.trim()}>
          Send
        </button>
      </form>
      <button
        className="stop"
        onClick={() => void controller.stop()}
        disabled={state === "idle"}
        aria-label="Stop speaking and thinking"
      >
        Stop
      </button>
    </footer>
  );
}
