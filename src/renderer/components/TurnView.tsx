import { useState } from "react";
import { useDuet, type Turn } from "../store/store.js";
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
  const from = useDuet((s) => s.turns[id]?.thinkingFromMs ?? null);
  const to = useDuet((s) => s.turns[id]?.thinkingToMs ?? null);
  const done = useDuet((s) => s.turns[id]?.done ?? false);
  const [open, setOpen] = useState(true);
  const duration = from !== null && to !== null ? to - from : null;
  return (
    <section className="track thinking" aria-label="Thinking track">
      <button className="track-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span>Thinking</span>
        <span className="track-meta">{done && duration !== null ? `thought for ${seconds(duration)}` : thoughts ? "thinking…" : ""}</span>
      </button>
      {open && <div className="track-body">{thoughts || <span className="placeholder">Thoughts appear here as the model reasons (never spoken).</span>}</div>}
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

function TurnMetrics({ turn }: { turn: Turn }) {
  const m = turn.metrics;
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

export function TurnView({ id }: { id: number }) {
  const turn = useDuet((s) => s.turns[id]);
  if (!turn) return null;
  return (
    <article className="turn" data-done={turn.done} aria-label={`Turn ${id}`}>
      <UserWords id={id} />
      <div className="tracks">
        <ThinkingTrack id={id} />
        <AnswerTrack id={id} />
      </div>
      {turn.done && (
        <footer className="turn-footer">
          <TurnMetrics turn={turn} />
          <TimelinePlot timeline={turn.timeline} />
          {turn.endReason && turn.endReason !== "end-of-turn" && <span className="end-reason">Ended: {turn.endReason.replace(/-/g, " ")}</span>}
        </footer>
      )}
    </article>
  );
}
