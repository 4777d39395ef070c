import { maxOf } from "../../shared/arrays.js";
import type { TurnTimeline } from "../store/store.js";

/** A small plot of when the thinker, the writer and the voice were active during the turn. */
export function TimelinePlot({ timeline }: { timeline: TurnTimeline }) {
  const end = maxOf([...timeline.thoughts, ...timeline.answers, ...timeline.chunks.map((c) => c.end)], 1);
  const width = 300;
  const x = (ms: number) => 62 + ((width - 70) * ms) / end;
  const rows: Array<[string, number]> = [
    ["thinker", 4],
    ["writer", 16],
    ["speech", 28],
  ];
  return (
    <svg
      className="timeline"
      width={width}
      height={52}
      role="img"
      aria-label={`Timeline over ${(end / 1000).toFixed(1)} seconds`}
    >
      {rows.map(([label, y]) => (
        <text key={label} x={0} y={y + 8} className="timeline-label">
          {label}
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
      <text x={width - 4} y={50} textAnchor="end" className="timeline-label">
        {(end / 1000).toFixed(1)} s
      </text>
    </svg>
  );
}
