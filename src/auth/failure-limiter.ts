/**
 * Counts failed authentications per client address in fixed windows. Past the limit an address
 * gets 429 until its window ends, which makes guessing keys impractical without hurting clients
 * that authenticate correctly. Memory is bounded: at most `maxAddresses` windows are kept.
 */
export class FailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(opts: { limit: number; windowSeconds: number; maxAddresses?: number; now?: () => number }) {
    this.#limit = opts.limit;
    this.#windowMs = opts.windowSeconds * 1000;
    this.#maxAddresses = opts.maxAddresses ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Seconds until `address` may try again, or 0 when it is not blocked. */
  retryAfter(address: string): number {
    const window = this.#windows.get(address);
    if (!window) return 0;
    const elapsed = this.#now() - window.start;
    if (elapsed >= this.#windowMs) {
      this.#windows.delete(address);
      return 0;
    }
    return window.failures >= this.#limit ? Math.ceil((this.#windowMs - elapsed) / 1000) : 0;
  }

  /** Records one failed attempt from `address`. */
  fail(address: string): void {
    const now = this.#now();
    const window = this.#windows.get(address);
    if (window && now - window.start < this.#windowMs) {
      window.failures++;
      return;
    }
    if (this.#windows.size >= this.#maxAddresses) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.delete(address);
    this.#windows.set(address, { start: now, failures: 1 });
  }
}
