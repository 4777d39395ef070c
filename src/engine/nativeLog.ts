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

let sink: (line: NativeLogLine) => void = () => {};

export function setNativeLogSink(next: (line: NativeLogLine) => void): void {
  sink = next;
}

export function nativeLog(line: NativeLogLine): void {
  sink(line);
}

/** Writes each line to stderr, prefixed by its source (for --verbose). */
export function nativeLogToStderr(line: NativeLogLine): void {
  const text = line.text.endsWith("\n") ? line.text : `${line.text}\n`;
  process.stderr.write(`[${line.source}] ${text}`);
}
