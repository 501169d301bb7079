import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { RangerPolicy } from "../../engine/types.ts";
import { DatabaseUnavailable, ServiceNotFound } from "../../errors.ts";
import { decodeCursor, pageOf } from "../../http/cursor.ts";
import { Page, PageQuery } from "../../http/schemas.ts";
import { lookAhead } from "../../policies/look-ahead.ts";
import { searchPolicies } from "../../policies/policies.search.ts";
import { applyOne, deletePolicy, present, requirePolicy } from "../../policies/policies.service.ts";
import { findServiceWithDef, type ServiceWithDef } from "../../service-defs/service-defs.store.ts";
import { writeTransaction } from "../../simulations/simulate-write.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import { nx1ErrorShape } from "./errors.ts";
import { presentNx1Policy } from "./present.ts";
import {
  EXTENSION_NOTE,
  errorResponses,
  NX1_SECURITY,
  NX1_TAGS,
  PolicyCreateRequest,
  PolicyCreateResponse,
  PolicyGetResponse,
} from "./schemas.ts";
import { nx1StrictValidator } from "./strict-body.ts";

/**
 * The Nx1 service (GATEHOUSE_NX1_SERVICE). It is created at start-up, so its absence means the
 * installation is broken: 503 like Nx1's "Ranger unavailable", not a client error.
 */
export async function nx1Service(db: Queryable, name: string): Promise<ServiceWithDef> {
  const found = await findServiceWithDef(db, name);
  if (!found) throw DatabaseUnavailable(`the Nx1 service \`${name}\` does not exist`, { cause: ServiceNotFound(name) });
  return found;
}

const PolicyIdParams = Type.Object({
  policy_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647, title: "Policy Id", description: "Ranger policy ID." }),
});
const shared = { config: { errorShape: nx1ErrorShape } } as const;

/** `POST/GET /api/govern/data-access/policies[/{policy_id}]` (Nx1) and the list/delete extensions. */
export function nx1PolicyRoutes(db: Db, serviceName: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/govern/data-access/policies",
      {
        config: { ...shared.config, ability: "policy.write", simulatable: true },
        validatorCompiler: nx1StrictValidator,
        schema: {
          tags: NX1_TAGS,
          summary: "Create or update a single Ranger policy",
          operationId: "create_policy_api_govern_data_access_policies_post",
          description:
            "Nx1-compatible. 201 when created; with `overwrite: true` an existing policy of the same name is updated (200, `status: updated`); without it a taken name is 409. Semantic failures (unknown resource or access type, wrong hierarchy, ...) are 400 and schema failures 422, each naming the field.",
          security: NX1_SECURITY,
          body: PolicyCreateRequest,
          response: {
            200: { ...PolicyCreateResponse, description: "Policy updated." },
            201: { ...PolicyCreateResponse, description: "Successful Response" },
            ...errorResponses(400, 409, 422, 503),
          },
        },
      },
      async (request, reply) => {
        const { overwrite, ...fields } = request.body;
        const early = lookAhead(db, () => nx1Service(db.kysely, serviceName));
        const outcome = await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await (early ?? nx1Service(tx, serviceName));
          return applyOne(tx, auditContextOf(request), target, {
            policy: fields as RangerPolicy,
            mode: overwrite ? "upsert" : "create",
          });
        });
        const created = outcome.status === "created";
        return reply.code(created ? 201 : 200).send({
          policy_id: outcome.id as number,
          policy_name: outcome.name,
          status: created ? "created" : "updated",
        });
      },
    );

    app.get(
      "/api/govern/data-access/policies/:policy_id",
      {
        config: { ...shared.config, ability: "policy.read" },
        schema: {
          tags: NX1_TAGS,
          summary: "Get a single Ranger policy",
          operationId: "get_policy_api_govern_data_access_policies__policy_id__get",
          description: "Nx1-compatible. 404 when the Nx1 service has no policy with this id.",
          security: NX1_SECURITY,
          params: PolicyIdParams,
          response: { 200: PolicyGetResponse, ...errorResponses(404, 422, 503) },
        },
      },
      async (request) => {
        const target = await nx1Service(db.kysely, serviceName);
        const record = await requirePolicy(db.kysely, target, request.params.policy_id);
        return presentNx1Policy(present(record, target));
      },
    );

    app.get(
      "/api/govern/data-access/policies",
      {
        config: { ...shared.config, ability: "policy.read" },
        schema: {
          tags: NX1_TAGS,
          summary: "List Ranger policies",
          operationId: "list_policies_api_govern_data_access_policies_get",
          description: `${EXTENSION_NOTE} Policies of the Nx1 service in id order, optionally by partial name.`,
          security: NX1_SECURITY,
          querystring: Type.Intersect([
            PageQuery,
            Type.Object({ name: Type.Optional(Type.String({ description: "Case-insensitive part of the name" })) }),
          ]),
          response: { 200: Page(PolicyGetResponse, "PolicyListResponse"), ...errorResponses(400, 422, 503) },
        },
      },
      async (request) => {
        const target = await nx1Service(db.kysely, serviceName);
        const q = request.query;
        const afterId = q.cursor ? Number(decodeCursor<{ id: number }>(q.cursor, ["id"]).id) : null;
        const { records, total } = await searchPolicies(
          db.kysely,
          target,
          { policyNamePartial: q.name },
          q.limit + 1,
          afterId,
        );
        const page = pageOf(records, q.limit, (r) => ({ id: r.id }));
        return {
          items: page.rows.map((r) => presentNx1Policy(present(r, target))),
          nextCursor: page.nextCursor,
          total,
        };
      },
    );

    app.delete(
      "/api/govern/data-access/policies/:policy_id",
      {
        config: { ...shared.config, ability: "policy.write" },
        schema: {
          tags: NX1_TAGS,
          summary: "Delete a Ranger policy",
          operationId: "delete_policy_api_govern_data_access_policies__policy_id__delete",
          description: `${EXTENSION_NOTE} 204 when deleted, 404 when absent.`,
          security: NX1_SECURITY,
          params: PolicyIdParams,
          response: { 204: Type.Null({ description: "Policy deleted." }), ...errorResponses(404, 422, 503) },
        },
      },
      async (request, reply) => {
        await db.transaction(async (tx) => {
          const target = await nx1Service(tx, serviceName);
          await deletePolicy(tx, auditContextOf(request), target, request.params.policy_id);
        });
        return reply.code(204).send(null);
      },
    );
  };
}
