/**
 * Events go to the window in batches (tokens arrive dozens a second): the first event of a batch
 * starts a 16 ms timer, and `flush` then gets every event queued meanwhile, in order.
 */
export function batchEvents<Event>(flush: (events: Event[]) => void, delayMs = 16): (event: Event) => void {
  let queue: Event[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (event) => {
    queue.push(event);
    timer ??= setTimeout(() => {
      timer = undefined;
      const events = queue;
      queue = [];
      flush(events);
    }, delayMs);
  };
}
