import { memo, useState } from "react";
import { endReasonWords } from "../../shared/conversations.js";
import type { VoiceTurnMetrics } from "../../shared/ipc/contract.js";
import { useDuet, type TurnRecord } from "../store/store.js";
import { seconds } from "./format.js";
import { answerParagraphs, paragraphs } from "./textLayout.js";
import { TimelineLegend, TimelinePlot } from "./TimelinePlot.js";
import { useFollow } from "./useFollow.js";

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
        {!final && !user && !tentative && <span className="tentative">Listening…</span>}
      </p>
      {interjections?.map((text, i) => (
        <p key={i} className="interjection">
          <span className="who">You, interrupting</span> {text}
        </p>
      ))}
    </div>
  );
}

/** "Jump to latest", shown while the user has scrolled a track away from its newest text. */
function JumpToLatest({ onClick, label }: { onClick: () => void; label: string }) {
  return (
    <button className="jump" onClick={onClick} aria-label={label}>
      ↓ Jump to latest
    </button>
  );
}

/** The time from the first thought to the last, or null before the first. */
function thinkingMs(turn: TurnRecord | undefined): number | null {
  const times = turn?.timeline.thoughts;
  return times && times.length > 0 ? times[times.length - 1]! - times[0]! : null;
}

function ThinkingTrack({ id }: { id: number }) {
  const thoughts = useDuet((s) => s.turns[id]?.thoughts ?? "");
  const duration = useDuet((s) => thinkingMs(s.turns[id]));
  const done = useDuet((s) => s.turns[id]?.done ?? false);
  const [open, setOpen] = useState(true);
  const follow = useFollow<HTMLDivElement>(open ? thoughts.length : -1);
  return (
    <section className="track thinking" aria-label="Thinking (private, never spoken)">
      <button
        className="track-head"
        aria-expanded={open}
        aria-controls={`thinking-${id}`}
        onClick={() => setOpen(!open)}
      >
        <span>Thinking</span>
        <span className="track-meta">
          {done && duration !== null ? `thought for ${seconds(duration)}` : thoughts ? "thinking…" : ""}
        </span>
      </button>
      {open && (
        <div
          className="track-body"
          id={`thinking-${id}`}
          ref={follow.ref}
          onScroll={follow.onScroll}
          onWheel={follow.onWheel}
          tabIndex={0}
          aria-label="Thoughts"
        >
          {thoughts.trim() ? (
            paragraphs(thoughts).map((p, i) => <p key={i}>{p}</p>)
          ) : (
            <span className="placeholder">
              {done
                ? "No thoughts in this turn."
                : "Thoughts appear here as the model reasons (never spoken)."}
            </span>
          )}
        </div>
      )}
      {open && !follow.following && <JumpToLatest onClick={follow.jump} label="Jump to the latest thought" />}
    </section>
  );
}

/** Where the voice is in the answer: the part being said, else the end of what was heard, else the start. */
function speechPosition(box: HTMLElement): HTMLElement | null {
  const heard = box.querySelectorAll<HTMLElement>(".heard");
  return box.querySelector<HTMLElement>(".speaking") ?? heard[heard.length - 1] ?? box.querySelector("p");
}

function AnswerTrack({ id, live }: { id: number; live: boolean }) {
  const tokens = useDuet((s) => s.turns[id]?.answerTokens);
  const heard = useDuet((s) => s.turns[id]?.heardTokens ?? 0);
  const speaking = useDuet((s) => s.turns[id]?.speaking ?? null);
  const written = useDuet((s) => s.turns[id]?.done ?? false);
  const text = tokens ?? [];
  // While the answer is written, the newest text stays in view; once it is all written, the part
  // being spoken does (between two chunks: the end of what was heard; before the first: the start).
  const followSpeech = live && written;
  const follow = useFollow<HTMLDivElement>(
    `${text.length}:${heard}:${speaking?.from ?? -1}`,
    followSpeech ? speechPosition : undefined,
  );
  return (
    <section className="track answer" aria-label="Answer (spoken)">
      <div className="track-head static">
        <span>Answer</span>
        <span className="track-meta">{speaking ? "speaking…" : ""}</span>
      </div>
      <div
        className="track-body"
        ref={follow.ref}
        onScroll={follow.onScroll}
        onWheel={follow.onWheel}
        tabIndex={0}
        aria-label="Answer text"
      >
        {text.join("").trim() === "" ? (
          <span className="placeholder">The spoken answer appears here.</span>
        ) : (
          answerParagraphs(text, heard, speaking).map((segments, i) => (
            <p key={i}>
              {segments.map((segment, j) => (
                <span key={j} className={segment.kind}>
                  {segment.text}
                </span>
              ))}
            </p>
          ))
        )}
      </div>
      {!follow.following && <JumpToLatest onClick={follow.jump} label="Jump to the latest answer text" />}
    </section>
  );
}

/**
 * The answer was all written, but the voice was stopped (Stop, or the user talked over it) before
 * its end. Only for a finished turn: one still speaking has not been heard to its end yet.
 */
export function voiceStopped(turn: TurnRecord): boolean {
  return turn.done && turn.voiceStopped && turn.heardTokens < turn.answerTokens.length;
}

/** One line in plain words: how long until the first words, how long it thought and spoke, how it ended. */
export function summaryWords(turn: TurnRecord): string[] {
  const parts: string[] = [];
  const m = turn.metrics;
  if (m?.releaseToFirstAudioMs !== null && m?.releaseToFirstAudioMs !== undefined)
    parts.push(`first words after ${seconds(m.releaseToFirstAudioMs)}`);
  else if (m?.ttftMs !== null && m?.ttftMs !== undefined)
    parts.push(`first answer text after ${seconds(m.ttftMs)}`);
  const thought = thinkingMs(turn);
  if (thought !== null) parts.push(`thought for ${seconds(thought)}`);
  const spokenMs = turn.timeline.chunks.reduce((sum, c) => sum + (c.end - c.start), 0);
  if (spokenMs > 0) parts.push(`spoke for ${seconds(spokenMs)}`);
  const ended = endReasonWords(turn.endReason);
  if (ended) parts.push(ended);
  else if (voiceStopped(turn)) parts.push("Stopped while speaking");
  if (parts.length > 0) parts[0] = parts[0]!.charAt(0).toUpperCase() + parts[0]!.slice(1);
  return parts;
}

/** The technical numbers, each with what it means. */
function MetricsTable({ metrics: m }: { metrics: VoiceTurnMetrics }) {
  const rows: Array<[string, string, string]> = [
    [
      "Time to first sound",
      seconds(m.releaseToFirstAudioMs, 2),
      "from the end of your question to the first spoken word",
    ],
    [
      "Time to first answer word (TTFT)",
      seconds(m.ttftMs, 2),
      "from the end of your question to the first written answer word",
    ],
    [
      "Waiting in silence (total delay)",
      `${m.totalDelay.toFixed(2)} s`,
      "all the silence before and between spoken parts",
    ],
    ["Answer speed", `${m.answerTokensPerSecond.toFixed(1)} tokens/s`, "how fast the answer was written"],
    ["Model steps", `${m.stepsPerSecond.toFixed(1)} /s`, "one step writes a thought and an answer token"],
    [
      "Thought lag",
      `${m.thoughtLagMean.toFixed(1)} mean, ${m.thoughtLagMax} at most`,
      "thoughts the answer had not seen yet when it was written",
    ],
    [
      "Tokens",
      `${m.thinkerTokens} thinking, ${m.writerTokens} answer, ${m.heardTokens} heard`,
      "a token is a word or part of one",
    ],
  ];
  if (m.sttMs !== null)
    rows.splice(2, 0, ["Speech recognition", seconds(m.sttMs, 2), "turning your last words into text"]);
  return (
    <dl className="metrics" aria-label="Turn metrics">
      {rows.map(([term, value, meaning]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>
            {value} <span className="meaning">{meaning}</span>
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** A finished turn's summary in words, and its details (metrics, timeline) behind a disclosure. */
function TurnFooter({ id }: { id: number }) {
  const turn = useDuet((s) => s.turns[id]);
  if (!turn) return null;
  const words = summaryWords(turn);
  return (
    <footer className="turn-footer">
      <p className="summary" data-testid="turn-summary">
        {words.join(" · ")}
      </p>
      <details
        className="details"
        onToggle={(e) => {
          if (e.currentTarget.open) e.currentTarget.scrollIntoView({ block: "nearest" });
        }}
      >
        <summary>Details</summary>
        <div className="details-body">
          {turn.metrics ? (
            <MetricsTable metrics={turn.metrics} />
          ) : (
            <p className="hint">No timings: this answer did not finish.</p>
          )}
          <figure className="timeline-figure">
            <TimelinePlot timeline={turn.timeline} />
            <TimelineLegend />
          </figure>
        </div>
      </details>
    </footer>
  );
}

/**
 * One turn. Each part subscribes to the fields it shows, and the turn itself only to whether it is
 * done and live, so a token re-renders one track of the current turn, never the finished turns.
 * The live turn (the newest, while it is written or spoken) takes the conversation's height.
 */
export const TurnView = memo(function TurnView({ id, last }: { id: number; last: boolean }) {
  const done = useDuet((s) => s.turns[id]?.done);
  const finished = useDuet((s) => {
    const turn = s.turns[id];
    return !!turn && turn.done && (turn.metrics !== null || s.state === "idle" || !last);
  });
  const endReason = useDuet((s) => {
    const turn = s.turns[id];
    if (!turn) return null;
    return turn.endReason === "end-of-turn" && voiceStopped(turn) ? "voice-stopped" : turn.endReason;
  });
  if (done === undefined) return null;
  const live = last && !finished;
  return (
    <article
      className="turn"
      data-done={done}
      data-live={live}
      data-ended={endReason ?? undefined}
      aria-label={`Turn ${id}`}
    >
      <UserWords id={id} />
      <div className="tracks">
        <ThinkingTrack id={id} />
        <AnswerTrack id={id} live={live} />
      </div>
      {finished && <TurnFooter id={id} />}
    </article>
  );
});
