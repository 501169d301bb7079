import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { Page, PageQuery } from "../http/schemas.ts";
import type { Db } from "../storage/db.ts";
import { listAuditEvents } from "./audit.store.ts";

const AuditEvent = Type.Object(
  {
    id: Type.String({ description: "Event id; increases with time" }),
    time: Type.String({ format: "date-time" }),
    actor: Type.Object({
      type: Type.String(),
      id: Type.Union([Type.String(), Type.Null()]),
      name: Type.Union([Type.String(), Type.Null()]),
      authMethod: Type.Union([Type.String(), Type.Null()]),
    }),
    action: Type.String({ description: "`noun.verb`, e.g. `group.created`" }),
    target: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
    orgId: Type.Union([Type.String(), Type.Null()]),
    before: Type.Unknown({ description: "State before the change; null for creations" }),
    after: Type.Unknown({ description: "State after the change; null for deletions" }),
    requestId: Type.Union([Type.String(), Type.Null()]),
    clientIp: Type.Union([Type.String(), Type.Null()]),
  },
  { title: "AuditEvent" },
);

const AuditQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    actor: Type.Optional(Type.String({ description: "Actor id (user id, service account id, token sub, `psk`)" })),
    action: Type.Optional(
      Type.String({ pattern: "^[a-z_]+(\\.[a-z_*]+)*$", description: "Exact action, or a prefix such as `group.*`" }),
    ),
    targetType: Type.Optional(Type.String()),
    targetId: Type.Optional(Type.String()),
    from: Type.Optional(Type.String({ format: "date-time", description: "Events at or after this time" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "Events before this time" })),
  }),
]);

/** `GET /v1/audit/events`: the audit trail, newest first, filtered and paginated. */
export function auditRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/v1/audit/events",
      {
        config: { ability: "audit.read" },
        schema: {
          tags: ["audit"],
          summary: "List audit events",
          description: "Every write is recorded in the same transaction as the change. Newest first.",
          querystring: AuditQuery,
          response: { 200: Page(AuditEvent, "AuditEventPage") },
        },
      },
      async (request) => {
        const q = request.query;
        const beforeId = q.cursor ? Number(decodeCursor<{ id: number }>(q.cursor, ["id"]).id) : null;
        const { rows, total } = await listAuditEvents(
          db.kysely,
          {
            actorId: q.actor,
            action: q.action,
            targetType: q.targetType,
            targetId: q.targetId,
            from: q.from,
            to: q.to,
          },
          q.limit + 1,
          beforeId,
        );
        const page = pageOf(rows, q.limit, (row) => ({ id: row.id }));
        return {
          items: page.rows.map((row) => ({
            id: String(row.id),
            time: row.occurred_at.toISOString(),
            actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name, authMethod: row.auth_method },
            action: row.action,
            target: { type: row.target_type, id: row.target_id },
            orgId: row.org_id,
            before: row.before,
            after: row.after,
            requestId: row.request_id,
            clientIp: row.client_ip,
          })),
          nextCursor: page.nextCursor,
          total,
        };
      },
    );
  };
}
