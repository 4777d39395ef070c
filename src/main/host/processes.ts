/**
 * A child process the main process talks to by messages: the engine (long-lived) or the hardware
 * probe (one answer, then it exits). Electron runs them as utility processes
 * (src/main/electronLauncher.ts); the dev harness and the tests fork Node or fake them.
 */
export interface ProcessHandle<In, Out> {
  post(message: In): void;
  onMessage(listener: (message: Out) => void): void;
  /** Called once when the process ends; the code is null when a signal ended it. */
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

export interface ProcessLauncher<In, Out> {
  launch(): ProcessHandle<In, Out>;
}
