import { createRequire } from "node:module";
import { nativeLog } from "../nativeLog.js";

/**
 * Turns the writer's text into what a voice should say: markdown marks removed, LaTeX verbalised
 * (LaTeX to MathML with temml, then speech-rule-engine's ClearSpeak rules), and symbols read as
 * words. Thinking never reaches this: only answer text is spoken.
 */

interface MathToSpeech {
  (latex: string): string;
}

interface SreModule {
  setupEngine(options: Record<string, string>): Promise<void>;
  engineReady(): Promise<void>;
  toSpeech(mathml: string): string;
}
interface TemmlModule {
  renderToString(latex: string, options: { xml?: boolean; throwOnError?: boolean }): string;
}

let mathReady: Promise<MathToSpeech> | undefined;

type XmlDom = { DOMParser: new (options?: { onError?: (level: string, message: string) => void }) => object };

/**
 * speech-rule-engine parses MathML with @xmldom/xmldom, whose parser prints "[xmldom warning]"
 * lines to the console by default. Its parser class is given an error handler that sends them to
 * the native log instead (shown with --verbose, kept in the app's log file).
 */
function routeXmlWarnings(require: NodeJS.Require): void {
  const sreFolder = require.resolve("speech-rule-engine");
  const xmldom = require(require.resolve("@xmldom/xmldom", { paths: [sreFolder] })) as XmlDom;
  const Parser = xmldom.DOMParser;
  if ((Parser as { routed?: boolean }).routed) return;
  xmldom.DOMParser = class extends Parser {
    static routed = true;
    constructor(options: { onError?: (level: string, message: string) => void } = {}) {
      super({
        ...options,
        onError: (level, text) => nativeLog({ source: "speech-rule-engine", level, text }),
      });
    }
  };
}

/** Loads the math speech rules once (about 0.3 s). */
export function loadMathSpeech(): Promise<MathToSpeech> {
  mathReady ??= (async () => {
    const require = createRequire(import.meta.url);
    routeXmlWarnings(require);
    const sre = require("speech-rule-engine") as SreModule;
    const temml = require("temml") as TemmlModule;
    await sre.setupEngine({ locale: "en", domain: "clearspeak", modality: "speech" });
    await sre.engineReady();
    return (latex: string) => sre.toSpeech(temml.renderToString(latex, { xml: true, throwOnError: true }));
  })();
  return mathReady;
}

const SYMBOLS: Array<[RegExp, string]> = [
  [/°\s?C\b/g, " degrees Celsius"],
  [/°\s?F\b/g, " degrees Fahrenheit"],
  [/°/g, " degrees"],
  [/(\d)\s?%/g, "$1 percent"],
  [/%/g, " percent"],
  [/\s&\s/g, " and "],
  [/×/g, " times "],
  [/÷/g, " divided by "],
  [/±/g, " plus or minus "],
  [/≈/g, " approximately "],
  [/≠/g, " is not equal to "],
  [/≤/g, " is at most "],
  [/≥/g, " is at least "],
  [/→|->/g, " to "],
  [/(\d)\s?\^\s?2\b/g, "$1 squared"],
  [/(\d)\s?\^\s?3\b/g, "$1 cubed"],
  [/(\d)\s?\+\s?(\d)/g, "$1 plus $2"],
  [/(\d)\s?=\s?(\d)/g, "$1 equals $2"],
  [/(\d)\s?\/\s?(\d)/g, "$1 over $2"],
  [/(\d)\s[-–]\s(\d)/g, "$1 minus $2"],
  [/(\d)\s?\*\s?(\d)/g, "$1 times $2"],
  [/\be\.g\./gi, "for example"],
  [/\bi\.e\./gi, "that is"],
  [/\betc\./gi, "et cetera"],
];

/** Markdown and formatting a listener cannot hear. */
export function stripMarkdown(text: string): string {
  return text
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}#{1,6}\s+/gm, "")
    .replace(/^\s*[-*+]\s+/gm, "")
    .replace(/^\s*\d+\.\s+/gm, "")
    .replace(/^\s*>\s?/gm, "")
    .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, "$1$2")
    .replace(/(^|[^\w*])\*([^*\n]+)\*(?=[^\w*]|$)/g, "$1$2")
    .replace(/(^|\W)_([^_\n]+)_(?=\W|$)/g, "$1$2")
    .replace(/^\s*\|?[-:| ]+\|[-:| ]*$/gm, " ")
    .replace(/\s*\|\s*/g, ", ")
    .replace(/^\s*[-*_]{3,}\s*$/gm, " ");
}

/** A rough reading of LaTeX, used only when the math rules cannot be loaded. */
function roughLatex(latex: string): string {
  return latex
    .replace(/\\boxed\{([^}]*)\}/g, "$1")
    .replace(/\\frac\{([^}]*)\}\{([^}]*)\}/g, "$1 over $2")
    .replace(/\\sqrt\{([^}]*)\}/g, "the square root of $1")
    .replace(/\\times/g, " times ")
    .replace(/\\cdot/g, " times ")
    .replace(/\\pm/g, " plus or minus ")
    .replace(/\^\{?2\}?/g, " squared")
    .replace(/\\[a-zA-Z]+/g, " ")
    .replace(/[{}]/g, " ")
    .replace(/=/g, " equals ")
    .replace(/\+/g, " plus ");
}

const MATH = /\$\$([\s\S]+?)\$\$|\$([^$\n]+?)\$|\\\(([\s\S]+?)\\\)|\\\[([\s\S]+?)\\\]/g;

/** The spoken form of a piece of answer text. `math` comes from loadMathSpeech(). */
export function toSpeakable(text: string, math?: MathToSpeech): string {
  let out = text.replace(MATH, (_m, display: string, inline: string, paren: string, bracket: string) => {
    const latex = (display ?? inline ?? paren ?? bracket ?? "").trim().replace(/\\boxed\{([^}]*)\}/g, "$1");
    try {
      return ` ${math ? math(latex) : roughLatex(latex)} `;
    } catch {
      return ` ${roughLatex(latex)} `;
    }
  });
  out = out.replace(/\\boxed\{([^}]*)\}/g, "$1");
  out = stripMarkdown(out);
  for (const [pattern, replacement] of SYMBOLS) out = out.replace(pattern, replacement);
  return out.replace(/\s+/g, " ").trim();
}
