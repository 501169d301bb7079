import { sql } from "kysely";
import type { RangerPolicyDelta } from "../engine/index.ts";
import type { Db, Tx } from "../storage/db.ts";

/** The policy deltas one rolled-back write produced, by service name (in the order written). */
export type CapturedDeltas = Map<string, RangerPolicyDelta[]>;

/** Thrown inside the transaction to roll it back, carrying what the write produced. */
export class WriteCaptured extends Error {
  readonly deltas: CapturedDeltas;
  readonly result: unknown;
  constructor(deltas: CapturedDeltas, result: unknown) {
    super("simulation: the write was rolled back");
    this.deltas = deltas;
    this.result = result;
  }
}

/** The deltas written by the current transaction (`xmin`), by service name. */
async function deltasOfThisTransaction(tx: Tx): Promise<CapturedDeltas> {
  const rows = await sql<{ id: number; name: string; change_type: number; policies_version: number; policy: unknown }>`
    select d.id, s.name, d.change_type, d.policies_version, d.policy
    from policy_deltas d join services s on s.id = d.service_id
    where d.xmin = pg_current_xact_id()::xid order by d.id`.execute(tx);
  const out: CapturedDeltas = new Map();
  for (const r of rows.rows) {
    let list = out.get(r.name);
    if (!list) {
      list = [];
      out.set(r.name, list);
    }
    list.push({
      id: r.id,
      changeType: r.change_type,
      policiesVersion: r.policies_version,
      policy: (typeof r.policy === "string" ? JSON.parse(r.policy) : r.policy) as RangerPolicyDelta["policy"],
    });
  }
  return out;
}

/**
 * A `db.transaction` that runs the write exactly as its route would (same validation, conflicts,
 * zone rights and errors) and then always rolls it back, throwing `WriteCaptured` with the Ranger
 * policy deltas it wrote. Nothing stays: no policy, no version bump, no delta, no audit event;
 * only identity sequences advance (ids a simulated create took are skipped by later writes). A
 * write that fails throws its own error, as the real write would.
 */
export function rollbackTransaction(db: Db): Db["transaction"] {
  return async <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => {
    await db.transaction(async (tx) => {
      const result = await fn(tx);
      throw new WriteCaptured(await deltasOfThisTransaction(tx), result);
    });
    throw new Error("unreachable: a simulated write always rolls back");
  };
}

/** Runs `write` with `rollbackTransaction` and returns what it captured. */
export async function captureWrite(db: Db, write: (tx: Tx) => Promise<unknown>): Promise<CapturedDeltas> {
  try {
    await rollbackTransaction(db)(write);
  } catch (err) {
    if (err instanceof WriteCaptured) return err.deltas;
    throw err;
  }
  return new Map();
}
