import { nativeLogToStderr, setNativeLogSink } from "../nativeLog.js";

/** Commands print the native libraries' own log lines only with --verbose, and then all of them. */
export function showNativeLogs(verbose: boolean | undefined): void {
  if (verbose) setNativeLogSink(nativeLogToStderr, "all");
  else setNativeLogSink(() => {}, "warnings");
}
