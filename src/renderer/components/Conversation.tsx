import { useEffect, useRef } from "react";
import { useDuet } from "../store/store.js";
import { TurnView } from "./TurnView.js";

export function Conversation() {
  const turnIds = useDuet((s) => s.turnIds);
  const last = useDuet((s) => {
    const id = s.turnIds[s.turnIds.length - 1];
    const turn = id === undefined ? undefined : s.turns[id];
    return turn ? turn.thoughts.length + turn.answerTokens.length : 0;
  });
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    end.current?.scrollIntoView({
      block: "end",
      behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth",
    });
  }, [turnIds.length, last]);
  return (
    <main className="conversation" aria-label="Conversation">
      {turnIds.length === 0 && (
        <div className="empty">
          <h2>Ask anything</h2>
          <p>
            Hold the button (or the hotkey) while you speak, or type below. Duet starts answering while it is
            still thinking: its thoughts appear on the left, the spoken answer on the right.
          </p>
        </div>
      )}
      {turnIds.map((id) => (
        <TurnView key={id} id={id} />
      ))}
      <div ref={end} />
    </main>
  );
}
