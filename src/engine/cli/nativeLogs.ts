import { nativeLogToStderr, setNativeLogSink } from "../nativeLog.js";

/** Commands print the native libraries' own log lines only with --verbose. */
export function showNativeLogs(verbose: boolean | undefined): void {
  setNativeLogSink(verbose ? nativeLogToStderr : () => {});
}
