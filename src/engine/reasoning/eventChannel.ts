/**
 * A push-based event stream with any number of async-iterator consumers and callback listeners.
 * Each iterator sees every event from the moment it starts, in order; closing ends them all.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly history: T[] = [];
  private closed = false;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(event: T) => void>();

  push(event: T): void {
    if (this.closed) return;
    this.history.push(event);
    for (const listener of this.listeners) listener(event);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /**
   * Calls `listener` with every event so far, then with each later one; returns an unsubscribe
   * function. Replaying matters: a turn emits its first events before the caller can subscribe.
   */
  subscribe(listener: (event: T) => void): () => void {
    for (const event of this.history) listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** All events so far. */
  get events(): readonly T[] {
    return this.history;
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let index = 0;
    for (;;) {
      while (index < this.history.length) yield this.history[index++]!;
      if (this.closed) return;
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }
}

/** A promise-based signal for "something changed": wait() resolves at the next notify(). */
export class Wakeup {
  private waiters: Array<() => void> = [];

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = (): void => resolve();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }
}
