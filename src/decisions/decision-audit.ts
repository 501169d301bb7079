import type { Queryable } from "../storage/db.ts";
import type { DecisionRecord } from "./decide.ts";

/** One queued audit entry: the decision plus where it came from. */
export interface QueuedDecision extends DecisionRecord {
  at: Date;
  requestId: string | null;
  clientIp: string | null;
}

/** Sizes and hooks of the decision-audit writer. */
export interface DecisionAuditOptions {
  /** Entries held at most; beyond it new entries are dropped and counted, never awaited. */
  capacity?: number;
  /** Rows per insert statement. */
  batchSize?: number;
  /** How long an entry may wait for a batch to fill. */
  flushIntervalMs?: number;
  /** Called with the number of entries dropped because the queue was full. */
  onDropped?: (count: number) => void;
  /** Called with the number of entries lost because an insert failed. */
  onFailed?: (count: number, err: unknown) => void;
}

/**
 * Writes audited decisions to `decision_log` off the request path: `push` only appends to a
 * bounded in-memory queue, and a timer drains it with multi-row inserts. A full queue (the
 * database slower than the decision rate, or down) drops new entries and counts them rather
 * than growing memory or slowing decisions; a failed insert is counted the same way. Nothing
 * here can throw into a request.
 */
export class DecisionAuditWriter {
  readonly #db: Queryable;
  readonly #capacity: number;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #onDropped: (count: number) => void;
  readonly #onFailed: (count: number, err: unknown) => void;
  #queue: QueuedDecision[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #stopped = false;

  constructor(db: Queryable, options: DecisionAuditOptions = {}) {
    this.#db = db;
    this.#capacity = options.capacity ?? 100_000;
    this.#batchSize = options.batchSize ?? 1_000;
    this.#intervalMs = options.flushIntervalMs ?? 250;
    this.#onDropped = options.onDropped ?? (() => {});
    this.#onFailed = options.onFailed ?? (() => {});
  }

  /** Entries waiting to be written. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Queues one entry; false (and counted) when the queue is full or the writer stopped. */
  push(entry: QueuedDecision): boolean {
    if (this.#stopped || this.#queue.length >= this.#capacity) {
      this.#onDropped(1);
      return false;
    }
    this.#queue.push(entry);
    if (!this.#timer && !this.#flushing) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.flush();
      }, this.#intervalMs);
      this.#timer.unref();
    }
    return true;
  }

  /** Writes everything queued so far (tests and shutdown await it). */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing.then(() => (this.#queue.length > 0 ? this.flush() : undefined));
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#flushing = (async () => {
      try {
        while (this.#queue.length > 0) {
          const batch = this.#queue.splice(0, this.#batchSize);
          try {
            await this.#insert(batch);
          } catch (err) {
            this.#onFailed(batch.length, err);
          }
        }
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  /** Stops accepting entries and writes what is queued. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.flush();
  }

  async #insert(batch: QueuedDecision[]): Promise<void> {
    await this.#db
      .insertInto("decision_log")
      .values(
        batch.map((e) => ({
          occurred_at: e.at,
          service: e.service,
          user_name: e.user,
          groups: e.groups,
          roles: e.roles,
          access_type: e.accessType,
          action: e.action,
          resource: e.resource,
          policy_type: e.policyType,
          allowed: e.allowed,
          determined: e.determined,
          policy_id: e.policyId,
          policy_version: e.policyVersion,
          reason: e.reason,
          request_id: e.requestId,
          client_ip: e.clientIp,
        })),
      )
      .execute();
  }
}

/**
 * Deletes decision-log entries older than `days` (the audit retention applies to both logs);
 * returns how many went. Run by the server's hourly housekeeping.
 */
export async function pruneDecisionLog(db: Queryable, days: number): Promise<number> {
  const cutoff = new Date(Date.now() - days * 86_400_000);
  const result = await db.deleteFrom("decision_log").where("occurred_at", "<", cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
