import { maxOf } from "../../shared/arrays.js";
import type { TurnTimeline } from "../store/store.js";

const ROWS = [
  {
    key: "thinking",
    label: "thinking",
    y: 4,
    className: "tl-thinker",
    meaning: "a thought token was written",
  },
  { key: "writing", label: "writing", y: 16, className: "tl-writer", meaning: "an answer token was written" },
  { key: "speaking", label: "speaking", y: 28, className: "tl-speech", meaning: "the voice was speaking" },
] as const;

/** A small plot of when the thinker, the writer and the voice were active during the turn. */
export function TimelinePlot({ timeline }: { timeline: TurnTimeline }) {
  const end = maxOf([...timeline.thoughts, ...timeline.answers, ...timeline.chunks.map((c) => c.end)], 1);
  const width = 360;
  const x = (ms: number) => 62 + ((width - 70) * ms) / end;
  return (
    <svg
      className="timeline"
      width={width}
      height={52}
      viewBox={`0 0 ${width} 52`}
      role="img"
      aria-label={`Timeline over ${(end / 1000).toFixed(1)} seconds: ${timeline.thoughts.length} thought tokens, ${timeline.answers.length} answer tokens, ${timeline.chunks.length} spoken parts`}
    >
      {ROWS.map((row) => (
        <text key={row.key} x={0} y={row.y + 8} className="timeline-label">
          {row.label}
        </text>
      ))}
      {timeline.thoughts.map((t, i) => (
        <rect key={`t${i}`} x={x(t)} y={4} width={1} height={9} className="tl-thinker" />
      ))}
      {timeline.answers.map((t, i) => (
        <rect key={`a${i}`} x={x(t)} y={16} width={1.5} height={9} className="tl-writer" />
      ))}
      {timeline.chunks.map((c, i) => (
        <rect
          key={`c${i}`}
          x={x(c.start)}
          y={28}
          width={Math.max(1, x(c.end) - x(c.start))}
          height={9}
          className="tl-speech"
        />
      ))}
      <text x={62} y={50} className="timeline-label">
        0 s
      </text>
      <text x={width - 4} y={50} textAnchor="end" className="timeline-label">
        {(end / 1000).toFixed(1)} s
      </text>
    </svg>
  );
}

/** What the timeline's marks mean. */
export function TimelineLegend() {
  return (
    <figcaption className="legend">
      {ROWS.map((row) => (
        <span key={row.key}>
          <span className={`swatch ${row.className}`} aria-hidden="true" /> {row.meaning}
        </span>
      ))}
      <span>Time runs from your question (left) to the end of the answer (right).</span>
    </figcaption>
  );
}
