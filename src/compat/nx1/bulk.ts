import type { AuditContext } from "../../audit/audit.service.ts";
import { applyChanges, type ChangeItem, type ChangeOutcome } from "../../policies/policies.service.ts";
import type { ServiceWithDef } from "../../service-defs/service-defs.store.ts";
import type { Db, Tx } from "../../storage/db.ts";
import { isDatabaseDown, withNx1Hint } from "./errors.ts";
import { type PolicyRow, RowError, rowToPolicies } from "./policy-row.ts";

/** One source row, numbered across the whole upload (JSON rows and workbook rows alike). */
export interface SourceRow {
  index: number;
  row: unknown;
}

/** One result line of `BulkPolicyCreateResponse`. */
export interface BulkLine {
  row_index: number;
  name: string;
  policy_id: number | null;
  error: string | null;
  status: "created" | "updated" | "failed";
}

/** `BulkPolicyCreateResponse`. */
export interface BulkResult {
  total: number;
  created: number;
  updated: number;
  failed: number;
  results: BulkLine[];
}

/** Policies written per transaction: large enough to amortise round trips, small enough to retry. */
const CHUNK = 500;
/**
 * Chunks written at once (non-atomic uploads). Two overlap one chunk's inserts with the other's
 * commit; the service's version lock is taken last in each, so they barely wait for each other.
 */
const IN_FLIGHT = 2;

class RollBack extends Error {}

function fill(line: BulkLine, outcome: ChangeOutcome | undefined): void {
  if (!outcome || outcome.status === "failed") {
    line.status = "failed";
    line.error = outcome?.error ? withNx1Hint(outcome.error) : "failed";
    return;
  }
  line.status = outcome.status === "created" ? "created" : "updated";
  line.policy_id = outcome.id;
  line.name = outcome.name;
}

/**
 * Applies an upload's rows to the Nx1 service as they stream in. Each row becomes one or more
 * policies (one per schema); rows that cannot be read, and policies that fail validation or
 * conflict, get a failed line naming the row and field, and the rest are applied (Nx1 semantics).
 * Policies are written in chunks of 500 per transaction; a chunk hit by an unexpected database
 * error is retried policy by policy, so one bad row cannot sink its neighbours. With `atomic`
 * (a Gatehouse extension) everything runs in one transaction that is rolled back if any line
 * failed, and every line then reports failure.
 */
export async function runBulk(
  db: Db,
  ctx: AuditContext,
  target: ServiceWithDef,
  rows: AsyncIterable<SourceRow>,
  atomic: boolean,
): Promise<BulkResult> {
  const results: BulkLine[] = [];
  let pending: { line: BulkLine; item: ChangeItem }[] = [];
  const inflight: Promise<void>[] = [];

  const flush = async (tx: Tx | null) => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const items = batch.map((p) => p.item);
    if (tx) {
      const outcomes = await applyChanges(tx, ctx, target, items);
      batch.forEach((p, i) => {
        fill(p.line, outcomes[i]);
      });
      return;
    }
    try {
      const outcomes = await db.transaction((t) => applyChanges(t, ctx, target, items));
      batch.forEach((p, i) => {
        fill(p.line, outcomes[i]);
      });
    } catch (err) {
      if (isDatabaseDown(err)) throw err;
      for (const p of batch) {
        try {
          const [outcome] = await db.transaction((t) => applyChanges(t, ctx, target, [p.item]));
          fill(p.line, outcome);
        } catch (one) {
          if (isDatabaseDown(one)) throw one;
          p.line.status = "failed";
          p.line.error = `${p.item.field}: could not be stored: ${(one as Error).message}`;
        }
      }
    }
  };

  const consume = async (tx: Tx | null) => {
    for await (const { index, row } of rows) {
      const at = `rows[${index}]`;
      const name = row && typeof row === "object" ? String((row as PolicyRow).name ?? "") : "";
      try {
        if (!row || typeof row !== "object" || Array.isArray(row)) throw new RowError(at, "must be a PolicyRow object");
        for (const derived of rowToPolicies(row as PolicyRow, at, target.def)) {
          const line: BulkLine = {
            row_index: index,
            name: derived.policy.name ?? name,
            policy_id: null,
            error: null,
            status: "failed",
          };
          results.push(line);
          pending.push({
            line,
            item: { policy: derived.policy, mode: derived.overwrite ? "upsert" : "create", field: at },
          });
        }
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        results.push({ row_index: index, name, policy_id: null, error: err.message, status: "failed" });
      }
      if (pending.length >= CHUNK) {
        if (tx) await flush(tx);
        else {
          const running = flush(null);
          running.catch(() => {}); // awaited below; this only keeps an early exit from leaving it unhandled
          inflight.push(running);
          if (inflight.length >= IN_FLIGHT) await inflight.shift();
        }
      }
    }
    await Promise.all(inflight);
    await flush(tx);
  };

  if (atomic) {
    try {
      await db.transaction(async (tx) => {
        await consume(tx);
        if (results.some((l) => l.status === "failed")) throw new RollBack();
      });
    } catch (err) {
      if (!(err instanceof RollBack)) throw err;
      const bad = results.filter((l) => l.status === "failed").length;
      for (const line of results) {
        if (line.status === "failed") continue;
        line.status = "failed";
        line.policy_id = null;
        line.error = `not applied: the upload is atomic and ${bad} line(s) failed`;
      }
    }
  } else {
    await consume(null);
  }
  const count = (s: BulkLine["status"]) => results.filter((l) => l.status === s).length;
  return {
    total: results.length,
    created: count("created"),
    updated: count("updated"),
    failed: count("failed"),
    results,
  };
}
