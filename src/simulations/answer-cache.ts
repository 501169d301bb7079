import { randomUUID } from "node:crypto";
import type { ExposureDiff } from "./exposure.ts";
import type { NoNewAccessVerdict } from "./no-new-access.ts";

/** The answers of a simulation that do not depend on the replay page: computed once, on its first page. */
export interface DraftAnswers {
  exposure: { resources: number; truncated: boolean; diffs: ExposureDiff[] };
  noNewAccess: NoNewAccessVerdict;
}

interface Entry {
  draftKey: string;
  policyVersion: number;
  answers: DraftAnswers;
  expires: number;
}

const MAX_ENTRIES = 64;
const TTL_MS = 30 * 60_000;

/**
 * The exposure diff and no-new-access verdict of paged simulations, by the id their replay cursor
 * carries, so continuation pages return the first page's answers instead of computing them again.
 * Per process and bounded (the oldest of `MAX_ENTRIES` go first, and any after `TTL_MS`): a
 * continuation that misses (another server process, a restart, an old cursor) computes them again.
 * An entry serves only the same draft (`draftKey`, a digest of the request) against the same policy
 * version; anything else is a miss.
 */
export class DraftAnswerCache {
  readonly #entries = new Map<string, Entry>();

  /** The answers stored for `id`, when they are for this draft and policy version and not expired. */
  get(id: string, draftKey: string, policyVersion: number, now = Date.now()): DraftAnswers | undefined {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.#entries.delete(id);
      return undefined;
    }
    return e.draftKey === draftKey && e.policyVersion === policyVersion ? e.answers : undefined;
  }

  /** Stores the answers under `id` (a new id when none is given) and returns the id. */
  put(
    id: string | undefined,
    draftKey: string,
    policyVersion: number,
    answers: DraftAnswers,
    now = Date.now(),
  ): string {
    const key = id ?? randomUUID();
    this.#entries.delete(key);
    this.#entries.set(key, { draftKey, policyVersion, answers, expires: now + TTL_MS });
    for (const old of this.#entries.keys()) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(old);
    }
    return key;
  }
}

/** The cache the simulation service uses (one per process). */
export const draftAnswers = new DraftAnswerCache();
