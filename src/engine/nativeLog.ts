/**
 * Where the log lines of the native libraries go (llama.cpp, whisper.cpp) and of the math speech
 * rules: nowhere by default, so a command's output and the tests stay readable; to stderr with a
 * command's --verbose; to the log file in the app. One sink for the whole process.
 */
export interface NativeLogLine {
  source: "llama.cpp" | "whisper.cpp" | "speech-rule-engine";
  level: string;
  text: string;
}

/**
 * How much a sink wants to hear: "all" (llama.cpp's informational lines too: the model's shape,
 * its tensors, the context it made) or only "warnings" and errors. llama.cpp filters by level
 * before a line reaches JavaScript, so a sink that keeps nothing should not ask for everything.
 */
export type NativeLogDetail = "all" | "warnings";

let sink: (line: NativeLogLine) => void = () => {};
let detail: NativeLogDetail = "warnings";

/** Sends every native line to `next`. Set it before loading models: the detail applies to loads after it. */
export function setNativeLogSink(
  next: (line: NativeLogLine) => void,
  nextDetail: NativeLogDetail = "all",
): void {
  sink = next;
  detail = nextDetail;
}

/** What the current sink asked for (see NativeLogDetail). */
export function nativeLogDetail(): NativeLogDetail {
  return detail;
}

export function nativeLog(line: NativeLogLine): void {
  sink(line);
}

/** Writes each line to stderr, prefixed by its source (for --verbose). */
export function nativeLogToStderr(line: NativeLogLine): void {
  const text = line.text.endsWith("\n") ? line.text : `${line.text}\n`;
  process.stderr.write(`[${line.source}] ${text}`);
}
