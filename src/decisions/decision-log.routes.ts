import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Type } from "typebox";
import { escapeLike } from "../directory/effective.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { Page, PageQuery } from "../http/schemas.ts";
import type { Queryable } from "../storage/db.ts";
import { queuedDecisionOf } from "./decision-audit.ts";

const DecisionLogEntry = Type.Object(
  {
    id: Type.String({ description: "Entry id; increases with time" }),
    time: Type.String({ format: "date-time" }),
    service: Type.String(),
    user: Type.String(),
    groups: Type.Array(Type.String()),
    roles: Type.Array(Type.String()),
    accessType: Type.String(),
    action: Type.Union([Type.String(), Type.Null()]),
    resource: Type.String({ description: "`name=value/name=value` in the service-def's order" }),
    policyType: Type.Integer(),
    allowed: Type.Boolean(),
    determined: Type.Boolean(),
    policyId: Type.Union([Type.Integer(), Type.Null()]),
    policyVersion: Type.Union([Type.Integer(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    requestId: Type.Union([Type.String(), Type.Null()]),
    clientIp: Type.Union([Type.String(), Type.Null()]),
  },
  { title: "DecisionLogEntry" },
);

const Query = Type.Intersect([
  PageQuery,
  Type.Object({
    service: Type.Optional(Type.String()),
    user: Type.Optional(Type.String({ description: "Exact user name" })),
    resource: Type.Optional(
      Type.String({ description: "Resource prefix, e.g. `catalog=sales/schema=eu` (all tables of the schema)" }),
    ),
    result: Type.Optional(Type.Union([Type.Literal("allowed"), Type.Literal("denied")])),
    policyId: Type.Optional(Type.Integer()),
    from: Type.Optional(Type.String({ format: "date-time", description: "Decisions at or after this time" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "Decisions before this time" })),
  }),
]);

/** `GET /v1/audit/decisions`: the decision log, newest first, filtered and paginated. */
export function decisionLogRoutes(db: Queryable): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/v1/audit/decisions",
      {
        config: { ability: "audit.read" },
        schema: {
          tags: ["audit"],
          summary: "List audited decisions",
          description:
            "Decisions the policies mark audited, written asynchronously in batches (an entry appears within about a " +
            "second). Entries dropped because the queue was full are counted in `/metrics` " +
            "(`gatehouse_decision_audit_dropped_total`). Newest first.",
          querystring: Query,
          response: { 200: Page(DecisionLogEntry, "DecisionLogPage") },
        },
      },
      async (request) => {
        const q = request.query;
        let base = db.selectFrom("decision_log");
        if (q.service) base = base.where("service", "=", q.service);
        if (q.user) base = base.where("user_name", "=", q.user);
        if (q.resource) base = base.where(resourcePrefix(q.resource));
        if (q.result) base = base.where("allowed", "=", q.result === "allowed");
        if (q.policyId !== undefined) base = base.where("policy_id", "=", q.policyId);
        if (q.from) base = base.where("occurred_at", ">=", new Date(q.from));
        if (q.to) base = base.where("occurred_at", "<", new Date(q.to));
        const total = await base.select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
        let page = base.selectAll();
        if (q.cursor) page = page.where("id", "<", Number(decodeCursor<{ id: number }>(q.cursor, ["id"]).id));
        const rows = await page
          .orderBy("id", "desc")
          .limit(q.limit + 1)
          .execute();
        const { rows: kept, nextCursor } = pageOf(rows, q.limit, (r) => ({ id: Number(r.id) }));
        return {
          items: kept.map((r) => {
            const { at, ...decision } = queuedDecisionOf(r);
            return { id: String(r.id), time: at.toISOString(), ...decision, reason: r.reason };
          }),
          nextCursor,
          total: Number(total.n),
        };
      },
    );
  };
}

/** Characters of `resource` in the decision log's index (migration 0012). */
const INDEXED_RESOURCE = 512;

/**
 * `resource` starts with `prefix`: the first condition is on the indexed expression
 * `left(resource, 512)` (so PostgreSQL uses the index; at most the first 512 characters of the
 * prefix can be compared there), the second on the full text for the exact answer.
 */
export function resourcePrefix(prefix: string) {
  const head = [...prefix].slice(0, INDEXED_RESOURCE).join("");
  return sql<boolean>`left(resource, ${sql.lit(INDEXED_RESOURCE)}) like ${`${escapeLike(head)}%`} and resource like ${`${escapeLike(prefix)}%`}`;
}
