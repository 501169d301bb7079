import { type Selectable, sql } from "kysely";
import type { Queryable } from "../storage/db.ts";
import type { DecisionLogTable } from "../storage/schema.ts";
import type { DecisionRecord } from "./decide.ts";

/** One queued audit entry: the decision plus where it came from. */
export interface QueuedDecision extends DecisionRecord {
  at: Date;
  requestId: string | null;
  clientIp: string | null;
}

/** A decision-log row read back in the shape it was queued in (the log's API and its tests read it so). */
export function queuedDecisionOf(r: Selectable<DecisionLogTable>): QueuedDecision {
  return {
    service: r.service,
    user: r.user_name,
    groups: r.groups,
    roles: r.roles,
    accessType: r.access_type,
    action: r.action,
    resource: r.resource,
    policyType: r.policy_type,
    allowed: r.allowed,
    determined: r.determined,
    policyId: r.policy_id,
    policyVersion: r.policy_version,
    reason: r.reason ?? "",
    at: new Date(r.occurred_at),
    requestId: r.request_id,
    clientIp: r.client_ip,
  };
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
 * bounded in-memory queue, and a timer drains it in inserts of up to `batchSize` rows. A full queue (the
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
    await insertDecisions(this.#db, batch);
  }
}

/**
 * Inserts decision-log rows with one array parameter per column, unnested by the database:
 * `insert ... select from unnest($1::timestamptz[], $2::text[], ...)`. A multi-row `values`
 * list of 1,000 rows takes 16,000 parameters, which the query builder compiles and the driver
 * serialises one by one, and which PostgreSQL parses and plans per statement; 16 arrays cost
 * about half of that on both sides (bench/decisions/audit-insert.ts). Each array is sent as its
 * literal (`{"a","b"}`), built here in one pass: the driver would otherwise run two regular
 * expressions over every element. A row's `groups` and `roles` are text arrays themselves, and
 * arrays of arrays must be rectangular, so each row's list travels as a literal inside the
 * column's literal and is cast back per row.
 */
export async function insertDecisions(db: Queryable, batch: readonly QueuedDecision[]): Promise<void> {
  const column = <T>(value: (e: QueuedDecision) => T) => batch.map(value);
  const text = (value: (e: QueuedDecision) => string | null) => textArray(column(value));
  await sql`
    insert into decision_log (occurred_at, service, user_name, groups, roles, access_type, action, resource,
      policy_type, allowed, determined, policy_id, policy_version, reason, request_id, client_ip)
    select r.occurred_at, r.service, r.user_name, r.groups::text[], r.roles::text[], r.access_type, r.action,
      r.resource, r.policy_type, r.allowed, r.determined, r.policy_id, r.policy_version, r.reason, r.request_id,
      r.client_ip
    from unnest(
      ${text((e) => e.at.toISOString())}::timestamptz[],
      ${text((e) => e.service)}::text[],
      ${text((e) => e.user)}::text[],
      ${text((e) => textArray(e.groups))}::text[],
      ${text((e) => textArray(e.roles))}::text[],
      ${text((e) => e.accessType)}::text[],
      ${text((e) => e.action)}::text[],
      ${text((e) => e.resource)}::text[],
      ${plainArray(column((e) => e.policyType))}::smallint[],
      ${plainArray(column((e) => e.allowed))}::boolean[],
      ${plainArray(column((e) => e.determined))}::boolean[],
      ${plainArray(column((e) => e.policyId))}::integer[],
      ${plainArray(column((e) => e.policyVersion))}::integer[],
      ${text((e) => e.reason)}::text[],
      ${text((e) => e.requestId)}::text[],
      ${text((e) => e.clientIp)}::text[]
    ) as r(occurred_at, service, user_name, groups, roles, access_type, action, resource, policy_type, allowed,
      determined, policy_id, policy_version, reason, request_id, client_ip)`.execute(db);
}

/**
 * A PostgreSQL array literal of strings: every element quoted (so commas, braces, blanks, an
 * empty string and the word NULL stay text), `"` and `\` escaped, null as NULL.
 */
export function textArray(values: readonly (string | null)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else out += `"${v.includes("\\") || v.includes('"') ? v.replace(/[\\"]/g, "\\$&") : v}"`;
  }
  return `${out}}`;
}

/** A PostgreSQL array literal of numbers or booleans, null as NULL. */
function plainArray(values: readonly (number | boolean | null)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : String(v);
  }
  return `${out}}`;
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
