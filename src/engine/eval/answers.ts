/**
 * Final-answer extraction and comparison: the last \boxed{} in the answer (as the paper scores
 * MATH-500), else a closing phrase like "the answer is 4" (spoken answers often skip the box).
 */

/** Contents of every \boxed{...} with balanced braces. */
export function boxedContents(text: string): string[] {
  const out: string[] = [];
  let at = text.indexOf("\\boxed");
  while (at >= 0) {
    let i = text.indexOf("{", at);
    if (i < 0) break;
    let depth = 0;
    const start = i + 1;
    for (; i < text.length; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}" && --depth === 0) break;
    }
    if (depth === 0) out.push(text.slice(start, i));
    at = text.indexOf("\\boxed", i);
  }
  return out;
}

const WORD_NUMBERS: Record<string, string> = {
  zero: "0",
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  ten: "10",
  eleven: "11",
  twelve: "12",
  twenty: "20",
  hundred: "100",
};

export function extractAnswer(text: string, kind: "math" | "choice"): string | undefined {
  const boxed = boxedContents(text);
  if (boxed.length > 0) return boxed[boxed.length - 1]!.trim();
  if (kind === "choice") {
    const letter =
      [...text.matchAll(/\b(?:answer|option|choice)(?: is)?:?\s*\(?([A-P])\)?(?![a-z])/gi)].pop() ??
      [...text.matchAll(/\(([A-P])\)/g)].pop();
    return letter?.[1]?.toUpperCase();
  }
  const phrase = [
    ...text.matchAll(
      /\b(?:answer|result|total)\s+(?:is|would be|comes to|equals)\s*:?\s*([^\n.,;!?]+(?:\.\d+)?)/gi,
    ),
  ].pop();
  return phrase?.[1]?.trim();
}

/** Canonical form for comparison: no LaTeX wrappers, spaces, thousands separators or trailing units. */
export function normalizeAnswer(answer: string): string {
  let a = answer.toLowerCase().trim();
  a = a
    .replace(/^\$+|\$+$/g, "")
    .replace(/\\text\{([^}]*)\}/g, "$1")
    .replace(/\\(?:d|t)frac/g, "\\frac")
    .replace(/\\left|\\right|\\!|\\,/g, "");
  a = a.replace(/\\frac\{([^}]*)\}\{([^}]*)\}/g, "$1/$2").replace(/\^\{?\\circ\}?|°|degrees?/g, "");
  a = a.replace(/(\d),(?=\d{3}\b)/g, "$1").replace(/\s+/g, "");
  a = a.replace(/^(x|a|the answer)=/, "").replace(/[.]$/, "");
  if (WORD_NUMBERS[a]) a = WORD_NUMBERS[a]!;
  return a;
}

function numericValue(a: string): number | undefined {
  const fraction = a.match(/^(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/);
  if (fraction) return Number(fraction[1]) / Number(fraction[2]);
  const percent = a.match(/^(-?\d+(?:\.\d+)?)%$/);
  if (percent) return Number(percent[1]);
  const n = Number(a.replace(/^[$€£]/, ""));
  return a !== "" && Number.isFinite(n) ? n : undefined;
}

export function answersMatch(given: string | undefined, expected: string, kind: "math" | "choice"): boolean {
  if (given === undefined) return false;
  if (kind === "choice")
    return given.trim().replace(/[()]/g, "").toUpperCase() === expected.trim().toUpperCase();
  const a = normalizeAnswer(given);
  const b = normalizeAnswer(expected);
  if (a === b) return true;
  const x = numericValue(a);
  const y = numericValue(b);
  return x !== undefined && y !== undefined && Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));
}
