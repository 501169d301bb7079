import type { Queryable } from "../storage/db.ts";

/** Filters of the audit trail; all optional and combined with AND. */
export interface AuditFilter {
  actorId?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** A page of audit events, newest first, keyed by the event id. */
export async function listAuditEvents(db: Queryable, filter: AuditFilter, limit: number, beforeId: number | null) {
  let query = db.selectFrom("audit_events");
  if (filter.actorId) query = query.where("actor_id", "=", filter.actorId);
  if (filter.action) {
    query = filter.action.endsWith(".*")
      ? query.where("action", "like", `${filter.action.slice(0, -1).replace(/[%_\\]/g, "\\$&")}%`)
      : query.where("action", "=", filter.action);
  }
  if (filter.targetType) query = query.where("target_type", "=", filter.targetType);
  if (filter.targetId) query = query.where("target_id", "=", filter.targetId);
  if (filter.from) query = query.where("occurred_at", ">=", new Date(filter.from));
  if (filter.to) query = query.where("occurred_at", "<", new Date(filter.to));
  const total = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  const pageQuery = beforeId === null ? query : query.where("id", "<", beforeId);
  const rows = await pageQuery.selectAll().orderBy("id", "desc").limit(limit).execute();
  return { rows, total: Number(total.n) };
}

/** Deletes events older than `days` days; returns how many were removed. */
export async function pruneAuditEvents(db: Queryable, days: number): Promise<number> {
  const cutoff = new Date(Date.now() - days * 86_400_000);
  const result = await db.deleteFrom("audit_events").where("occurred_at", "<", cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
