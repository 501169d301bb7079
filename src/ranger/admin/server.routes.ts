import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Type } from "typebox";
import { auditContextOf, recordAudit } from "../../audit/audit.service.ts";
import { RangerOperationNotServed } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import { rangerErrorShape } from "./errors.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
const admin = { ability: "policy.write", errorShape: rangerErrorShape } as const;
const DeltaQuery = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 0, maximum: 36_500, default: 7 })),
    reloadServicePoliciesCache: Type.Optional(Type.String({ description: "accepted, needs nothing" })),
  },
  { additionalProperties: true },
);

/**
 * Ranger admin's server housekeeping calls: `DELETE /server/policydeltas` (`deletePolicyDeltas`)
 * prunes the policy change log; `purge/records` and `set-logger-level` have no counterpart here
 * and answer 501 in Ranger's error shape, so a script learns it at once instead of seeing a
 * silent 404 (which Ranger's client turns into `None`).
 */
export function rangerServerRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.delete(
      `${RANGER_V2}/server/policydeltas`,
      {
        config: admin,
        schema: {
          tags,
          summary: "Prune the policy change log (Ranger v2)",
          description:
            "Deletes policy deltas older than `days` (default 7, as Ranger). Engines and plugins whose version the log no longer bridges download whole policy sets instead, as in Ranger; `reloadServicePoliciesCache` is accepted and needs nothing. 204.",
          querystring: DeltaQuery,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const days = request.query.days ?? 7;
        await db.transaction(async (tx) => {
          const removed = await tx
            .deleteFrom("policy_deltas")
            .where("created_at", "<", sql<Date>`now() - make_interval(days => ${days})`)
            .executeTakeFirst();
          await recordAudit(tx, auditContextOf(request), {
            action: "policy_deltas.purged",
            targetType: "policy_deltas",
            targetId: "*",
            after: { olderThanDays: days, removed: Number(removed.numDeletedRows) },
          });
        });
        return reply.code(204).send(null);
      },
    );
    const notServed = (what: string, why: string) => async () => {
      throw RangerOperationNotServed(`${what} is not served by Gatehouse: ${why}`);
    };
    app.delete(
      `${RANGER_V2}/server/purge/records`,
      {
        config: admin,
        schema: {
          tags,
          summary: "Purge login and transaction records (Ranger v2): not served",
          description: "501. Gatehouse keeps no login records; audit events are pruned by `auditRetentionDays`.",
          querystring: Type.Object({}, { additionalProperties: true }),
          response: { 501: Type.Unknown() },
        },
      },
      notServed(
        "purging records",
        "it keeps no login records, and audit events past `auditRetentionDays` are pruned by the server itself",
      ),
    );
    app.post(
      "/service/admin/set-logger-level",
      {
        config: admin,
        schema: {
          tags,
          summary: "Set a Java logger's level (Ranger admin): not served",
          description: "501. Gatehouse's log level is its `logLevel` setting.",
          response: { 501: Type.Unknown() },
        },
      },
      notServed("setting a logger level", "its log level is the `logLevel` setting (GATEHOUSE_LOG_LEVEL)"),
    );
  };
}
