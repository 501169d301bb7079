import type { AuditChange, AuditContext } from "../audit/audit.service.ts";
import type { Tx } from "../storage/db.ts";

const CHUNK = 1000;

/** The audit_events row of one change, as `recordAudit` would write it. */
export function auditRow(ctx: AuditContext, change: AuditChange) {
  return {
    actor_type: ctx.actor.type,
    actor_id: ctx.actor.id,
    actor_name: ctx.actor.name,
    auth_method: ctx.actor.authMethod,
    action: change.action,
    target_type: change.targetType,
    target_id: change.targetId,
    org_id: change.orgId ?? null,
    before: change.before === undefined || change.before === null ? null : JSON.stringify(change.before),
    after: change.after === undefined || change.after === null ? null : JSON.stringify(change.after),
    request_id: ctx.requestId,
    client_ip: ctx.clientIp,
  };
}

/**
 * Records many audit events in the caller's transaction with multi-row inserts: a 10,000-member
 * batch still gets one event per membership change, without 10,000 round trips.
 */
export async function recordAuditMany(tx: Tx, ctx: AuditContext, changes: AuditChange[]): Promise<void> {
  for (let start = 0; start < changes.length; start += CHUNK) {
    const rows = changes.slice(start, start + CHUNK).map((change) => auditRow(ctx, change));
    await tx.insertInto("audit_events").values(rows).execute();
  }
}
