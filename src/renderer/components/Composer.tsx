import { useRef, useState, type KeyboardEvent } from "react";
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";

function LevelMeter() {
  const level = useDuet((s) => s.micLevel);
  const pct = Math.min(100, Math.round(Math.sqrt(level) * 180));
  return (
    <div
      className="meter"
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
    >
      <div className="meter-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

/** Hold to talk (pointer, or Space/Enter while focused), or type. */
export function Composer() {
  const controller = useController();
  const state = useDuet((s) => s.state);
  const ready = useDuet((s) => s.engine.status === "ready");
  const hotkey = useDuet((s) => s.settings?.hotkey.pushToTalk ?? "");
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
        <span>{listening ? "Listening…" : "Hold to talk"}</span>
      </button>
      <LevelMeter />
      <form
        className="text-input"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <label htmlFor="message" className="visually-hidden">
          Type a message
        </label>
        <input
          id="message"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={ready ? "Or type a question…" : "Waiting for the model…"}
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
      {hotkey && <span className="hint">Hold {hotkey} anywhere to talk</span>}
    </footer>
  );
}
