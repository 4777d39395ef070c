import { memo, useState } from "react";
import type { VoiceTurnMetrics } from "../../shared/ipc/contract.js";
import { useDuet } from "../store/store.js";
import { seconds } from "./format.js";
import { TimelinePlot } from "./TimelinePlot.js";

function UserWords({ id }: { id: number }) {
  const user = useDuet((s) => s.turns[id]?.user ?? "");
  const tentative = useDuet((s) => s.turns[id]?.userTentative ?? "");
  const final = useDuet((s) => s.turns[id]?.userFinal ?? false);
  const interjections = useDuet((s) => s.turns[id]?.interjections);
  return (
    <div className="user-words">
      <span className="who">You</span>
      <p aria-label="What you said">
        {user}
        {tentative && <span className="tentative"> {tentative}</span>}
        {!final && !user && !tentative && <span className="tentative">…</span>}
      </p>
      {interjections?.map((text, i) => (
        <p key={i} className="interjection">
          <span className="who">You, interrupting</span> {text}
        </p>
      ))}
    </div>
  );
}

function ThinkingTrack({ id }: { id: number }) {
  const thoughts = useDuet((s) => s.turns[id]?.thoughts ?? "");
  // From the first thought to the last (the timeline has the time of each); null before the first.
  const duration = useDuet((s) => {
    const times = s.turns[id]?.timeline.thoughts;
    return times && times.length > 0 ? times[times.length - 1]! - times[0]! : null;
  });
  const done = useDuet((s) => s.turns[id]?.done ?? false);
  const [open, setOpen] = useState(true);
  return (
    <section className="track thinking" aria-label="Thinking track">
      <button className="track-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span>Thinking</span>
        <span className="track-meta">
          {done && duration !== null ? `thought for ${seconds(duration)}` : thoughts ? "thinking…" : ""}
        </span>
      </button>
      {open && (
        <div className="track-body">
          {thoughts || (
            <span className="placeholder">Thoughts appear here as the model reasons (never spoken).</span>
          )}
        </div>
      )}
    </section>
  );
}

function AnswerTrack({ id }: { id: number }) {
  const tokens = useDuet((s) => s.turns[id]?.answerTokens);
  const heard = useDuet((s) => s.turns[id]?.heardTokens ?? 0);
  const text = tokens ?? [];
  return (
    <section className="track answer" aria-label="Spoken answer">
      <div className="track-head static">
        <span>Answer</span>
      </div>
      <div className="track-body">
        {text.length === 0 ? (
          <span className="placeholder">The spoken answer appears here.</span>
        ) : (
          <>
            <span className="heard">{text.slice(0, heard).join("")}</span>
            <span className="unheard">{text.slice(heard).join("")}</span>
          </>
        )}
      </div>
    </section>
  );
}

function TurnMetrics({ metrics: m }: { metrics: VoiceTurnMetrics | null }) {
  if (!m) return null;
  return (
    <dl className="metrics" aria-label="Turn metrics">
      <div>
        <dt>To first sound</dt>
        <dd>{seconds(m.releaseToFirstAudioMs, 2)}</dd>
      </div>
      <div>
        <dt>TTFT</dt>
        <dd>{seconds(m.ttftMs, 2)}</dd>
      </div>
      <div>
        <dt>Total delay</dt>
        <dd>{m.totalDelay.toFixed(2)} s</dd>
      </div>
      <div>
        <dt>Tokens/s</dt>
        <dd>{m.answerTokensPerSecond.toFixed(1)}</dd>
      </div>
    </dl>
  );
}

/** A finished turn's metrics, timeline and, when it ended early, why. */
function TurnFooter({ id }: { id: number }) {
  const metrics = useDuet((s) => s.turns[id]?.metrics ?? null);
  const timeline = useDuet((s) => s.turns[id]?.timeline);
  const endReason = useDuet((s) => s.turns[id]?.endReason ?? null);
  if (!timeline) return null;
  return (
    <footer className="turn-footer">
      <TurnMetrics metrics={metrics} />
      <TimelinePlot timeline={timeline} />
      {endReason && endReason !== "end-of-turn" && (
        <span className="end-reason">Ended: {endReason.replace(/-/g, " ")}</span>
      )}
    </footer>
  );
}

/**
 * One turn. Each part subscribes to the fields it shows, and the turn itself only to whether it is
 * done, so a token re-renders one track of the current turn, never the finished turns.
 */
export const TurnView = memo(function TurnView({ id }: { id: number }) {
  const done = useDuet((s) => s.turns[id]?.done);
  if (done === undefined) return null;
  return (
    <article className="turn" data-done={done} aria-label={`Turn ${id}`}>
      <UserWords id={id} />
      <div className="tracks">
        <ThinkingTrack id={id} />
        <AnswerTrack id={id} />
      </div>
      {done && <TurnFooter id={id} />}
    </article>
  );
});
