import { setTimeout as sleep } from "node:timers/promises";

/**
 * SQLSTATEs after which PostgreSQL has rolled the whole transaction back and running it again is
 * the documented remedy: `40001` serialization_failure and `40P01` deadlock_detected.
 */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(["40001", "40P01"]);

/** How many times a transaction runs at most before its conflict is answered as an error. */
export const TRANSACTION_ATTEMPTS = 5;

/**
 * The SQLSTATE that makes `err` worth retrying, or null. Services sometimes wrap a database error
 * in one of ours, so the `cause` chain is followed (a few links at most).
 */
export function retryableSqlState(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && RETRYABLE_SQLSTATES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Runs `attempt` (one whole transaction) again when PostgreSQL aborted it with a serialization
 * failure or a deadlock, at most `attempts` times in all, after a short random pause that grows
 * with each try so the contenders do not collide again in step. Any other error, and the last
 * conflict, propagate unchanged.
 *
 * INVARIANT: a retried attempt starts from nothing. The aborted transaction was rolled back whole,
 * audit event and all, so the rerun writes each row once; callers keep side effects outside the
 * database (idempotency records, notifications) out of the transaction function or make them
 * repeatable.
 */
export async function retryTransaction<T>(
  attempt: () => Promise<T>,
  opts: { attempts?: number; onRetry?: (info: { attempt: number; sqlState: string }) => void } = {},
): Promise<T> {
  const attempts = opts.attempts ?? TRANSACTION_ATTEMPTS;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const sqlState = retryableSqlState(err);
      if (sqlState === null || n >= attempts) throw err;
      opts.onRetry?.({ attempt: n, sqlState });
      await sleep(Math.random() * 10 * 2 ** n);
    }
  }
}
