import type { FastifyRequest } from "fastify";
import type { Actor } from "../auth/actor.ts";
import type { Tx } from "../storage/db.ts";

/**
 * Who did something and through which request: passed from routes into services. The actor's
 * permissions travel with it so services can refuse grants beyond the caller's own.
 */
export interface AuditContext {
  actor: Pick<Actor, "type" | "id" | "name" | "authMethod" | "permissions">;
  requestId: string | null;
  clientIp: string | null;
}

/** One change to record: `action` is `noun.verb` (`group.created`, `policy.updated`). */
export interface AuditChange {
  action: string;
  targetType: string;
  targetId: string | null;
  orgId?: string | null;
  /** State before the change (null for creations); never contains secrets. */
  before?: unknown;
  /** State after the change (null for deletions); never contains secrets. */
  after?: unknown;
}

/** The audit context of an HTTP request. */
export function auditContextOf(request: FastifyRequest): AuditContext {
  return { actor: request.actor, requestId: request.id, clientIp: request.ip };
}

/** The audit context of work the server does on its own (start-up, retention, sync). */
export const SYSTEM_CONTEXT: AuditContext = {
  actor: { type: "anonymous", id: "system", name: "system", authMethod: "none", permissions: new Set(["*"]) },
  requestId: null,
  clientIp: null,
};

/**
 * The `audit_events` row of one change. Every writer of audit events builds its rows here, whether
 * it inserts one (`recordAudit`), many (`recordAuditMany`) or folds them into a larger statement.
 */
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
 * Records an audit event inside the caller's transaction, so the change and its record commit or
 * roll back together: there is never a change without its event, nor an event without its change.
 */
export async function recordAudit(tx: Tx, ctx: AuditContext, change: AuditChange): Promise<void> {
  await tx.insertInto("audit_events").values(auditRow(ctx, change)).execute();
}

const AUDIT_CHUNK = 1000;

/**
 * Records many audit events in the caller's transaction with multi-row inserts: a 10,000-member
 * batch still gets one event per change, without 10,000 round trips.
 */
export async function recordAuditMany(tx: Tx, ctx: AuditContext, changes: AuditChange[]): Promise<void> {
  for (let start = 0; start < changes.length; start += AUDIT_CHUNK) {
    const rows = changes.slice(start, start + AUDIT_CHUNK).map((change) => auditRow(ctx, change));
    await tx.insertInto("audit_events").values(rows).execute();
  }
}
