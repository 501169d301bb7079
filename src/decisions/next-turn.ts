/**
 * Resolves on the event loop's next turn, after pending I/O and timers: long work done in slices
 * (an engine build, a 100,000-policy read) awaits it between slices, so the server's other
 * requests wait for one slice, not for the whole job.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
