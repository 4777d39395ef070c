import { maxOf } from "../../shared/arrays.js";
import type { ModeSummary, RunRecord } from "./evaluation.js";

const escapeXml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
const COLORS: Record<string, string> = { async: "#2f6fdf", thinking: "#d9822b", nothinking: "#3d9a5b" };
const niceMax = (value: number) => {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= value) ?? value;
};

/** Grouped bars: TTFT, total delay and adjusted delay per mode, in seconds. */
export function delayChart(summaries: readonly ModeSummary[]): string {
  const metrics: Array<[string, (s: ModeSummary) => number]> = [
    ["TTFT", (s) => s.ttftS ?? 0],
    ["total delay", (s) => s.totalDelay],
    ["adjusted delay", (s) => s.adjustedDelay],
  ];
  const width = 640;
  const height = 300;
  const left = 60;
  const bottom = 40;
  const top = 30;
  const plotH = height - bottom - top;
  const max = niceMax(maxOf(summaries.flatMap((s) => metrics.map(([, f]) => f(s)))));
  const groupW = (width - left - 20) / metrics.length;
  const barW = Math.min(40, (groupW - 20) / Math.max(1, summaries.length));
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">Mean delay per mode (seconds)</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${v.toFixed(max >= 10 ? 0 : max >= 1 ? 1 : 2)}</text>`,
    );
  }
  metrics.forEach(([label, value], g) => {
    const x0 = left + g * groupW + (groupW - barW * summaries.length) / 2;
    summaries.forEach((s, k) => {
      const v = value(s);
      const h = (plotH * v) / max;
      const x = x0 + k * barW;
      parts.push(
        `<rect x="${x}" y="${top + plotH - h}" width="${barW - 4}" height="${h}" fill="${COLORS[s.mode] ?? "#888"}"><title>${s.mode} ${label}: ${v.toFixed(2)} s</title></rect>`,
      );
      parts.push(
        `<text x="${x + (barW - 4) / 2}" y="${top + plotH - h - 3}" text-anchor="middle" font-size="10">${v.toFixed(v < 10 ? 2 : 0)}</text>`,
      );
    });
    parts.push(
      `<text x="${left + g * groupW + groupW / 2}" y="${height - bottom + 16}" text-anchor="middle" font-size="12">${label}</text>`,
    );
  });
  summaries.forEach((s, k) => {
    parts.push(
      `<rect x="${left + k * 110}" y="${height - 14}" width="10" height="10" fill="${COLORS[s.mode] ?? "#888"}"/>`,
    );
    parts.push(`<text x="${left + k * 110 + 14}" y="${height - 5}" font-size="11">${s.mode}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>\n`;
}

/**
 * One question's timeline per mode, like the paper's figures: thinking tokens, written answer
 * tokens, and the spoken chunks (with the silences between them) on one time axis.
 */
export function timelineChart(runs: readonly RunRecord[]): string {
  const width = 760;
  const left = 110;
  const rowH = 14;
  const bandH = rowH * 3 + 22;
  const end = maxOf(
    runs.flatMap((r) => [
      r.totalS,
      ...r.chunks.map((c) => c.startS + c.durS),
      ...r.trace.answer.map(([t]) => t),
      ...r.trace.thoughts.map(([t]) => t),
    ]),
    0.5,
  );
  const max = niceMax(end);
  const x = (t: number) => left + ((width - left - 20) * t) / max;
  const height = 40 + runs.length * bandH + 30;
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(runs[0]?.id ?? "")}: thinking, writing and speech over time</text>`,
  );
  runs.forEach((run, b) => {
    const y0 = 30 + b * bandH;
    const color = COLORS[run.mode] ?? "#888";
    parts.push(
      `<text x="4" y="${y0 + 12}" font-size="12" font-weight="bold" fill="${color}">${run.mode}</text>`,
    );
    const rows: Array<[string, number]> = [
      ["thinking", y0 + 14],
      ["writing", y0 + 14 + rowH],
      ["speech", y0 + 14 + 2 * rowH],
    ];
    for (const [label, y] of rows) {
      parts.push(`<text x="${left - 6}" y="${y + 10}" text-anchor="end" font-size="10">${label}</text>`);
      parts.push(
        `<line x1="${left}" x2="${width - 20}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#eee"/>`,
      );
    }
    for (const [t] of run.trace.thoughts)
      parts.push(`<rect x="${x(t)}" y="${rows[0]![1] + 2}" width="1" height="${rowH - 4}" fill="#999"/>`);
    for (const [t] of run.trace.answer)
      parts.push(
        `<rect x="${x(t)}" y="${rows[1]![1] + 2}" width="1.5" height="${rowH - 4}" fill="${color}"/>`,
      );
    for (const c of run.chunks) {
      if (c.durS <= 0) continue;
      parts.push(
        `<rect x="${x(c.startS)}" y="${rows[2]![1] + 2}" width="${Math.max(1, x(c.startS + c.durS) - x(c.startS))}" height="${rowH - 4}" fill="${color}" fill-opacity="0.6"><title>${escapeXml(c.spoken)}</title></rect>`,
      );
    }
  });
  const axisY = height - 24;
  parts.push(`<line x1="${left}" x2="${width - 20}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`);
  for (let i = 0; i <= 5; i++) {
    const t = (max * i) / 5;
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${axisY}" y2="${axisY + 4}" stroke="#333"/>`);
    parts.push(
      `<text x="${x(t)}" y="${axisY + 16}" text-anchor="middle" font-size="10">${t.toFixed(max < 5 ? 1 : 0)} s</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>\n`;
}

export interface ReportInput {
  model: string;
  modelSha256: string;
  machine: string;
  timing: string;
  layout: string;
  budget: number;
  summaries: readonly ModeSummary[];
  runs: readonly RunRecord[];
  timelineFiles: ReadonlyArray<{ id: string; file: string }>;
}

const fmt = (v: number | null, digits = 2) => (v === null ? "-" : v.toFixed(digits));

export function markdownReport(input: ReportInput): string {
  const lines: string[] = [];
  lines.push("# Duet evaluation report", "");
  lines.push(`- Model: \`${input.model}\` (sha256 \`${input.modelSha256.slice(0, 16)}…\`)`);
  lines.push(`- Machine: ${input.machine}`);
  lines.push(`- Layout: ${input.layout}; step budget ${input.budget}; greedy decoding`);
  lines.push(`- Speech timing: ${input.timing}`);
  lines.push("", "## Summary", "");
  lines.push(
    "| mode | questions | accuracy | TTFT (s) | total delay (s) | adjusted delay (s) | STFT (steps) | steps delay | thinker tokens | writer tokens | thought lag mean / max | probe yes rate |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const s of input.summaries) {
    lines.push(
      `| ${s.mode} | ${s.questions} | ${fmt(s.accuracy)} | ${fmt(s.ttftS)} | ${fmt(s.totalDelay)} | ${fmt(s.adjustedDelay)} | ${fmt(s.stft, 1)} | ${fmt(s.stepsDelay, 1)} | ${fmt(s.thinkerTokens, 0)} | ${fmt(s.writerTokens, 0)} | ${fmt(s.thoughtLagMean, 1)} / ${fmt(s.thoughtLagMax, 0)} | ${fmt(s.probeYesRate)} |`,
    );
  }
  lines.push("", "![Mean delay per mode](delays.svg)", "");
  lines.push(
    "How to read it: **TTFT** is when the first answer token was written, counted from the request (prompt reading included). " +
      "**Total delay** is all the silence a listener hears before and between spoken chunks, with chunks of 5 tokens ready when their last token is written plus their synthesis time; " +
      "**adjusted delay** forgives one second per pause. **STFT** counts model steps to the first answer token, and **steps delay** the steps that produced no answer token. " +
      'Accuracy compares the last `\\boxed{}` (or a closing "the answer is …") with the known answer.',
    "",
  );
  lines.push("## Timelines", "");
  for (const t of input.timelineFiles) lines.push(`![${t.id}](${t.file})`, "");
  lines.push("## Questions", "");
  lines.push("| question | mode | expected | extracted | correct | TTFT (s) | total delay (s) | end |");
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const r of input.runs) {
    lines.push(
      `| ${r.id} | ${r.mode} | ${r.expected} | ${r.extracted ?? "-"} | ${r.correct ? "yes" : "no"} | ${fmt(r.ttftS)} | ${fmt(r.totalDelay)} | ${r.endReason} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}
