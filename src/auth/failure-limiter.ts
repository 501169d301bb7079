/**
 * Counts failed authentications in fixed windows twice over: per client address and per
 * credential identity (what a presented credential claims to be: the general PSK, an API key's
 * prefix, a service account's client id, a token's subject; see `credentialIdentity`).
 *
 * THE RULE (docs/operations.md): an attempt is refused with 429, before its credential is even
 * verified, only when its address is locked out (`limit` failures in the window) AND the identity
 * it presents is under attack (`limit` failures in the window, from anywhere). So
 * - an attacker guessing from one address locks out that address for the identities it guesses,
 *   and gets no answer that tells a right guess from a wrong one;
 * - the real owner of an identity under attack still gets in from any address that is not
 *   locked out: one attacker cannot lock the administrator out everywhere;
 * - a client sharing an address with an attacker (a NAT, an untrusted reverse proxy) still gets
 *   in with its own credential, unless that very credential is the one being guessed.
 * A wrong credential from a locked-out address is answered 429 too. Memory is bounded: at most
 * `maxEntries` windows of each kind are kept, the oldest dropped first.
 */
export class FailureLimiter {
  readonly #addresses: FailureWindows;
  readonly #identities: FailureWindows;

  constructor(opts: { limit: number; windowSeconds: number; maxEntries?: number; now?: () => number }) {
    const windows = {
      limit: opts.limit,
      windowMs: opts.windowSeconds * 1000,
      maxEntries: opts.maxEntries ?? 100_000,
      now: opts.now ?? Date.now,
    };
    this.#addresses = new FailureWindows(windows);
    this.#identities = new FailureWindows(windows);
  }

  /** Seconds until `address` is no longer locked out, or 0 when it is not. */
  retryAfter(address: string): number {
    return this.#addresses.retryAfter(address);
  }

  /** Seconds until `identity` is no longer under attack, or 0 when it is not. */
  identityRetryAfter(identity: string): number {
    return this.#identities.retryAfter(identity);
  }

  /**
   * Seconds to wait before an attempt presenting `identity` from `address` is verified, or 0 when
   * it is verified now: nonzero only while the address is locked out and the identity under attack.
   */
  refusal(address: string, identity: string): number {
    const locked = this.#addresses.retryAfter(address);
    if (locked === 0) return 0;
    return Math.min(locked, this.#identities.retryAfter(identity));
  }

  /** Records one failed attempt presenting `identity` from `address`. */
  fail(address: string, identity: string): void {
    this.#addresses.fail(address);
    this.#identities.fail(identity);
  }
}

/** Failures per key in fixed windows, at most `maxEntries` keys. */
class FailureWindows {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(opts: { limit: number; windowMs: number; maxEntries: number; now: () => number }) {
    this.#limit = opts.limit;
    this.#windowMs = opts.windowMs;
    this.#maxEntries = opts.maxEntries;
    this.#now = opts.now;
  }

  retryAfter(key: string): number {
    const window = this.#windows.get(key);
    if (!window) return 0;
    const elapsed = this.#now() - window.start;
    if (elapsed >= this.#windowMs) {
      this.#windows.delete(key);
      return 0;
    }
    return window.failures >= this.#limit ? Math.ceil((this.#windowMs - elapsed) / 1000) : 0;
  }

  fail(key: string): void {
    const now = this.#now();
    const window = this.#windows.get(key);
    if (window && now - window.start < this.#windowMs) {
      window.failures++;
      return;
    }
    if (this.#windows.size >= this.#maxEntries) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.delete(key);
    this.#windows.set(key, { start: now, failures: 1 });
  }
}
