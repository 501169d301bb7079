import type { Actor } from "./actor.ts";

/** How long a verified credential is trusted without asking the database or the issuer again. */
export const CREDENTIAL_CACHE_TTL_MS = 5_000;

interface Entry {
  actor: Actor;
  expiresAt: number;
}

/**
 * Credentials verified recently, by the digest of what was presented (the same SHA-256 the
 * database stores for keys, so the cache holds nothing more secret than the database does).
 * It spares an API key, service account or bearer token a database round trip (and a token its
 * signature check) on every request. Only successes are kept: a wrong credential is checked in
 * full every time, and the failure limiter counts it.
 *
 * Staleness is bounded twice: an entry lives at most `ttlMs` (and never past the credential's own
 * expiry), and this process forgets every entry after any local write that can change a
 * credential (revocation, rotation, disabling a user, role changes: see `installAuthentication`).
 * So a revocation is effective at once on the process that made it, and within `ttlMs` on others.
 */
export class CredentialCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  #entries = new Map<string, Entry>();

  constructor(opts: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {
    this.#ttlMs = opts.ttlMs ?? CREDENTIAL_CACHE_TTL_MS;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** The actor verified for `key`, or undefined when absent or expired. */
  get(key: string): Actor | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.actor;
  }

  /** Remembers a verified actor until `ttlMs` from now or `validUntil` (epoch ms), whichever is first. */
  set(key: string, actor: Actor, validUntil = Number.POSITIVE_INFINITY): void {
    const expiresAt = Math.min(this.#now() + this.#ttlMs, validUntil);
    if (this.#ttlMs <= 0 || expiresAt <= this.#now()) return;
    // Bounded memory: past the limit start over (entries are cheap to verify again).
    if (this.#entries.size >= this.#maxEntries) this.#entries = new Map();
    this.#entries.set(key, { actor, expiresAt });
  }

  /** Forgets everything (after a local change to credentials, users or roles). */
  clear(): void {
    if (this.#entries.size > 0) this.#entries = new Map();
  }

  /** Entries held (tests). */
  get size(): number {
    return this.#entries.size;
  }
}
