import { useLayoutEffect } from "react";
import { useDuet } from "../store/store.js";
import { ConversationBar } from "./ConversationBar.js";
import { TurnView } from "./TurnView.js";
import { useFollow } from "./useFollow.js";

/**
 * The turns of the open conversation. It follows the newest turn (the live one fills the view, so
 * its tracks get the window's height) unless the user scrolled up; finished turns show their summary.
 */
export function Conversation() {
  const turnIds = useDuet((s) => s.turnIds);
  const hasModel = useDuet((s) => s.engine.status === "ready" || s.engine.status === "loading");
  // What changes the conversation's height: a new turn, and the newest one finishing.
  const layout = useDuet((s) => {
    const id = s.turnIds[s.turnIds.length - 1];
    const turn = id === undefined ? undefined : s.turns[id];
    return `${s.turnIds.length}:${turn?.done ?? ""}:${turn?.metrics ? 1 : 0}:${s.state === "idle"}`;
  });
  const follow = useFollow<HTMLElement>(layout);
  // The live turn's height is the conversation's visible height (a CSS variable, set through the
  // CSSOM, which the content security policy allows).
  useLayoutEffect(() => {
    const box = follow.ref.current;
    if (!box || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => box.style.setProperty("--conv-h", `${box.clientHeight}px`));
    observer.observe(box);
    box.style.setProperty("--conv-h", `${box.clientHeight}px`);
    return () => observer.disconnect();
  }, [follow.ref]);
  return (
    <div className="conversation-column">
      <ConversationBar />
      <main
        className="conversation"
        aria-label="Conversation"
        ref={follow.ref}
        onScroll={follow.onScroll}
        onWheel={follow.onWheel}
        tabIndex={-1}
      >
        {turnIds.length === 0 && (
          <div className="empty">
            <h2>Ask anything</h2>
            <p>
              {hasModel
                ? "Hold the button (or the hotkey) while you speak, or type below. Duet starts answering while it is still thinking: its thoughts appear on the left, the spoken answer on the right."
                : "Once a model runs, hold the button while you speak, or type below."}
            </p>
          </div>
        )}
        {turnIds.map((id, i) => (
          <TurnView key={id} id={id} last={i === turnIds.length - 1} />
        ))}
      </main>
      {!follow.following && turnIds.length > 0 && (
        <button className="jump conversation-jump" onClick={follow.jump}>
          ↓ Jump to the newest turn
        </button>
      )}
    </div>
  );
}
