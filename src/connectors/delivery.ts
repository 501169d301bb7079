import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";
import type { ConnectorRow } from "./connector-model.ts";
import { type DesiredGroup, loadGroupStates } from "./group-state.ts";
import { type ConnectorTarget, type GroupState, TargetError } from "./target.ts";

/** How deliveries retry: exponential backoff with jitter, then the dead-letter list. */
export interface RetryPolicy {
  /** Failures after which a group's delivery is parked as a dead letter. */
  maxAttempts: number;
  /** First retry delay; doubled per failure up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What one delivery round did, for metrics and logs. */
export interface RoundResult {
  delivered: number;
  failed: number;
  dead: number;
}

/** What a logger needs to offer: pino's signature. */
export interface DeliveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Groups delivered per round: one bulk call of the Ranger target. */
export const ROUND_SIZE = 1000;

/** The delay before retry number `attempts` (1-based): exponential, capped, with 50–100 % jitter. */
export function backoffMs(attempts: number, policy: RetryPolicy): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.5 + Math.random() * 0.5));
}

/** The text stored and shown for a failure: `ranger: 503 ...`. */
export function describeFailure(
  err: unknown,
  kind: string,
): { text: string; status: number | null; retryable: boolean } {
  if (err instanceof TargetError)
    return { text: `${err.target}: ${err.message}`, status: err.status ?? null, retryable: err.retryable };
  return { text: `${kind}: ${err instanceof Error ? err.message : String(err)}`, status: null, retryable: true };
}

interface Pending {
  group_id: string;
  seqs: number[];
}

interface Known {
  group_id: string;
  delivered_path: string[] | null;
  attempts: number;
}

/**
 * One delivery round of a connector: reads up to `ROUND_SIZE` groups with queued changes (those
 * not waiting for a retry and not dead-lettered, oldest change first), loads each group's CURRENT
 * state, and sends it (upsert, or delete when the group is gone or no longer carried). A group's
 * queued rows are removed only after its state reached the target, and only the rows read before
 * the state was loaded: a change committed meanwhile stays queued for the next round. Replaying a
 * row therefore sends a state the target already has, which changes nothing (exactly once in effect).
 */
export async function deliverRound(
  db: Queryable,
  connector: ConnectorRow,
  target: ConnectorTarget,
  policy: RetryPolicy,
  log: DeliveryLog,
): Promise<RoundResult> {
  const pending = (
    await sql<Pending>`
      select o.group_id, array_agg(o.seq) as seqs from connector_outbox o
      left join connector_objects s on s.connector_id = o.connector_id and s.group_id = o.group_id
      where o.connector_id = ${connector.id}::uuid and s.dead_at is null
        and (s.next_attempt_at is null or s.next_attempt_at <= now())
      group by o.group_id order by min(o.seq) limit ${ROUND_SIZE}`.execute(db)
  ).rows;
  const result: RoundResult = { delivered: 0, failed: 0, dead: 0 };
  if (pending.length === 0) return result;
  const ids = pending.map((p) => p.group_id);
  const known = new Map(
    (
      await sql<Known>`select group_id, delivered_path, attempts from connector_objects
        where connector_id = ${connector.id}::uuid and group_id = any(${ids}::uuid[])`.execute(db)
    ).rows.map((k) => [k.group_id, k]),
  );
  const states = new Map<string, DesiredGroup>(
    (await loadGroupStates(db, connector, target.membership, { ids })).map((d) => [d.state.gatehouseId, d]),
  );
  const seqsOf = new Map(pending.map((p) => [p.group_id, p.seqs.map(Number)]));
  const done: string[] = [];
  const gone: string[] = [];
  const failures = new Map<string, unknown>();

  // deletions: groups gone or no longer carried that the target may hold under their last path
  const upserts: GroupState[] = [];
  for (const id of ids) {
    const desired = states.get(id);
    const last = known.get(id)?.delivered_path ?? null;
    if (desired?.carried) {
      upserts.push(desired.state);
      continue;
    }
    if (!last) {
      gone.push(id);
      continue;
    }
    try {
      await target.deleteGroup({ gatehouseId: id, path: last });
      gone.push(id);
      log.info({ connector: connector.name, group: id, path: last.join("/") }, "connector: group deleted on target");
    } catch (err) {
      failures.set(id, err);
    }
  }

  // a flat target knows a group by its name: a renamed group leaves its old name first
  const sendable: GroupState[] = [];
  for (const state of upserts) {
    const last = known.get(state.gatehouseId)?.delivered_path;
    const oldName = last?.[last.length - 1];
    const newName = state.path[state.path.length - 1];
    if (target.membership === "effective" && last && oldName && oldName.toLowerCase() !== newName?.toLowerCase()) {
      try {
        await target.deleteGroup({ gatehouseId: state.gatehouseId, path: last });
      } catch (err) {
        failures.set(state.gatehouseId, err);
        continue;
      }
    }
    sendable.push(state);
  }

  if (sendable.length > 0) {
    // record the path about to be sent first, so a delete after a crash still knows the name
    await sql`
      insert into connector_objects (connector_id, group_id, delivered_path)
      select ${connector.id}::uuid, g, p::jsonb from unnest(${sendable.map((s) => s.gatehouseId)}::uuid[],
        ${sendable.map((s) => JSON.stringify(s.path))}::text[]) as x(g, p)
      on conflict (connector_id, group_id) do update set delivered_path = excluded.delivered_path`.execute(db);
    await sendAll(target, sendable, done, failures, connector.name, log);
  }

  // success: the rows read are delivered; the object forgets its failures
  const delivered = [...done, ...gone];
  if (delivered.length > 0) {
    const seqs = delivered.flatMap((id) => seqsOf.get(id) ?? []);
    await sql`delete from connector_outbox where seq = any(${seqs}::bigint[])`.execute(db);
    if (done.length > 0) {
      await sql`update connector_objects set attempts = 0, next_attempt_at = null, last_error = null, last_status = null,
                  delivered_at = now()
                where connector_id = ${connector.id}::uuid and group_id = any(${done}::uuid[])`.execute(db);
    }
    if (gone.length > 0) {
      await sql`delete from connector_objects where connector_id = ${connector.id}::uuid and group_id = any(${gone}::uuid[])`.execute(
        db,
      );
    }
    await sql`update connectors set last_success_at = now() where id = ${connector.id}::uuid`.execute(db);
    result.delivered = delivered.length;
  }

  // failure: back off, or park after too many
  if (failures.size > 0) {
    let lastText = "";
    for (const [id, err] of failures) {
      const attempts = (known.get(id)?.attempts ?? 0) + 1;
      const { text, status, retryable } = describeFailure(err, connector.kind);
      lastText = text;
      const dead = attempts >= (connector.config.maxAttempts ?? policy.maxAttempts);
      const delay = backoffMs(attempts, { ...policy, maxDelayMs: connector.config.retryMaxMs ?? policy.maxDelayMs });
      await sql`
        insert into connector_objects (connector_id, group_id, attempts, next_attempt_at, last_error, last_status, dead_at)
        values (${connector.id}::uuid, ${id}::uuid, ${attempts}, now() + make_interval(secs => ${delay / 1000}),
                ${text}, ${status}, ${dead ? sql`now()` : sql`null`})
        on conflict (connector_id, group_id) do update set attempts = excluded.attempts,
          next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
          last_status = excluded.last_status, dead_at = excluded.dead_at`.execute(db);
      if (dead) result.dead++;
      log.warn(
        {
          connector: connector.name,
          group: id,
          attempts,
          retryable,
          dead,
          retryInMs: dead ? null : delay,
          error: text,
        },
        dead ? "connector: delivery dead-lettered" : "connector: delivery failed",
      );
    }
    await sql`update connectors set last_error = ${lastText}, last_error_at = now() where id = ${connector.id}::uuid`.execute(
      db,
    );
    result.failed = failures.size;
  }
  return result;
}

/**
 * Sends states with the target's batch call when it has one; when the batch is refused (not a
 * transient failure) each group is tried on its own so one bad group cannot hold back the rest.
 */
async function sendAll(
  target: ConnectorTarget,
  states: GroupState[],
  done: string[],
  failures: Map<string, unknown>,
  connector: string,
  log: DeliveryLog,
): Promise<void> {
  const reportMissing = (state: GroupState, missingUsers: string[]) => {
    if (missingUsers.length > 0) {
      log.warn({ connector, group: state.gatehouseId, missingUsers }, "connector: members missing on the target");
    }
  };
  if (target.upsertGroups && states.length > 1) {
    try {
      const reports = await target.upsertGroups(states);
      states.forEach((s, i) => {
        done.push(s.gatehouseId);
        reportMissing(s, reports[i]?.missingUsers ?? []);
      });
      return;
    } catch (err) {
      target.invalidate?.();
      if (!(err instanceof TargetError) || err.retryable) {
        for (const s of states) failures.set(s.gatehouseId, err);
        return;
      }
    }
  }
  for (const state of states) {
    try {
      const report = await target.upsertGroup(state);
      done.push(state.gatehouseId);
      reportMissing(state, report.missingUsers);
    } catch (err) {
      target.invalidate?.();
      failures.set(state.gatehouseId, err);
      // a target that cannot be reached fails the rest of the round the same way, without calls
      if (err instanceof TargetError && err.retryable && err.status === undefined) {
        for (const s of states) if (!done.includes(s.gatehouseId)) failures.set(s.gatehouseId, err);
        return;
      }
    }
  }
}
