/**
 * Streamed text as paragraphs for display. A model writes paragraphs as "\n\n" followed by a
 * token that often starts with a space; shown as pre-wrapped text, that space began every
 * paragraph after the first. Here each paragraph starts at its first visible character.
 */

/** A paragraph: where it starts and ends in the text (leading whitespace left out). */
interface Span {
  start: number;
  end: number;
}

/** A break between paragraphs: a blank line (spaces allowed on it), and what follows up to the next word. */
const BREAK = /\n[ \t]*\n\s*/g;

function paragraphSpans(text: string): Span[] {
  const spans: Span[] = [];
  let start = 0;
  const push = (from: number, to: number) => {
    let s = from;
    while (s < to && /\s/.test(text[s]!)) s++;
    if (s < to) spans.push({ start: s, end: to });
  };
  for (const match of text.matchAll(BREAK)) {
    push(start, match.index);
    start = match.index + match[0].length;
  }
  push(start, text.length);
  return spans;
}

/** The text's paragraphs, each starting with its first visible character. */
export function paragraphs(text: string): string[] {
  return paragraphSpans(text).map((s) => text.slice(s.start, s.end));
}

export type SegmentKind = "heard" | "speaking" | "unheard";
export interface Segment {
  text: string;
  kind: SegmentKind;
}

/**
 * The answer as paragraphs of segments: heard (already said), speaking (being said now) and not
 * heard yet. `heard` counts tokens; `speaking` is a token range [from, to).
 */
export function answerParagraphs(
  tokens: readonly string[],
  heard: number,
  speaking: { from: number; to: number } | null,
): Segment[][] {
  const text = tokens.join("");
  const charsBefore = (count: number): number => {
    let n = 0;
    for (let i = 0; i < Math.min(count, tokens.length); i++) n += tokens[i]!.length;
    return n;
  };
  const heardEnd = charsBefore(heard);
  // The part being said starts where the heard part ends (chunks are said in order).
  const speakingEnd = speaking && speaking.to > heard ? charsBefore(speaking.to) : heardEnd;
  const cuts: Array<[number, SegmentKind]> = [
    [heardEnd, "heard"],
    [speakingEnd, "speaking"],
    [Infinity, "unheard"],
  ];
  return paragraphSpans(text).map(({ start, end }) => {
    const segments: Segment[] = [];
    let at = start;
    for (const [until, kind] of cuts) {
      const to = Math.min(end, until);
      if (to > at) {
        segments.push({ text: text.slice(at, to), kind });
        at = to;
      }
    }
    return segments;
  });
}
