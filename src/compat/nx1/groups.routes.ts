import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { DeliveryWait } from "../../connectors/index.ts";
import { defaultOrgId } from "../../directory/default-org.ts";
import { checkGroupName } from "../../directory/group-names.ts";
import { createGroup, findGroupByName } from "../../directory/groups.service.ts";
import { AppError, ConnectorDeliveryFailed, NameInvalid } from "../../errors.ts";
import { quote } from "../../http/error-handler.ts";
import type { Db } from "../../storage/db.ts";
import { fastApiValidationShape } from "./errors.ts";
import { errorResponses, HTTPValidationError, NameListResponse, NX1_SECURITY, NX1_TAGS } from "./schemas.ts";
import { nx1StrictValidator } from "./strict-body.ts";

/**
 * Waits until groups just committed reached every connector of their organisation (bounded):
 * `ConnectorRuntime.waitDelivered`. Absent when the app runs without connectors.
 */
export type GroupDelivery = (orgId: string, groupIds: string[]) => Promise<DeliveryWait>;

/**
 * Names one `metadata/groups` request may create: each is a lookup and a write in one transaction,
 * so the count bounds how long the request holds the database (docs/policies.md, Nx1 routes).
 */
export const MAX_GROUP_NAMES = 1000;

/** Names created between two yields to the event loop (see the loop below). */
const YIELD_EVERY = 10;

/** `POST /api/govern/data-access/metadata/groups` (Nx1 seed 000). */
export function nx1GroupRoutes(db: Db, delivery?: GroupDelivery): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/govern/data-access/metadata/groups",
      {
        config: { ability: "directory.write", errorShape: fastApiValidationShape },
        validatorCompiler: nx1StrictValidator,
        schema: {
          tags: NX1_TAGS,
          summary: "Create a new Keycloak group and sync to Ranger",
          operationId: "create_group_metadata_api_govern_data_access_metadata_groups_post",
          description:
            'Nx1-compatible. Creates each named group in the default organisation of the directory; groups that exist (names compare case-insensitively) are left as they are. Answers the names now present. An invalid name is 400 naming it, and then nothing is created; a malformed body is 422 in FastAPI\'s shape. When connectors carry the organisation (docs/connectors.md), the answer waits (at most `GATEHOUSE_CONNECTOR_WAIT_MS`, 10 s by default) until each group reached every connector\'s target: a target that refused or was not reached in time is a 502 `ErrorResponse` naming it and its answer (`{"error": "ranger: 503 ...", "code": 502}`); the groups stay created and their delivery queued, and the same request answers 200 once they are delivered.',
          security: NX1_SECURITY,
          body: Type.Object(
            {
              items: Type.Optional(
                Type.Array(Type.String(), {
                  title: "Items",
                  maxItems: MAX_GROUP_NAMES,
                  description: `At most ${MAX_GROUP_NAMES} names per request (each is a write); send more in several requests.`,
                }),
              ),
            },
            { title: "NameListResponse" },
          ),
          response: {
            200: NameListResponse,
            400: errorResponses(400)[400],
            422: HTTPValidationError,
            502: errorResponses(502)[502],
          },
        },
      },
      async (request) => {
        const names = [...new Set(request.body.items ?? [])];
        const orgId = await defaultOrgId(db.kysely);
        const org = await db.kysely
          .selectFrom("orgs")
          .select("group_name_pattern")
          .where("id", "=", orgId)
          .executeTakeFirstOrThrow();
        names.forEach((name, i) => {
          try {
            checkGroupName(name, org.group_name_pattern, `body.items[${i}]`);
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            throw NameInvalid(`group name ${quote(name)} is invalid: ${err.message}`, { details: err.details });
          }
        });
        const ctx = auditContextOf(request);
        const present = await db.transaction(async (tx) => {
          const out: { id: string; name: string }[] = [];
          for (const [i, name] of names.entries()) {
            // the embedded database answers on this thread: let other requests (health checks) in
            if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
            const existing = await findGroupByName(tx, orgId, name);
            out.push(existing ?? (await createGroup(tx, ctx, { orgId, name })));
          }
          return out;
        });
        // The groups are committed (and queued for the connectors in the same transaction); the
        // answer waits, bounded, until they reached every connector's target: a 502 names the
        // target, the groups stay created and queued, and the same request answers 200 once
        // delivered (docs/connectors.md).
        if (delivery) {
          const reached = await delivery(
            orgId,
            present.map((g) => g.id),
          );
          if (!reached.ok) throw ConnectorDeliveryFailed(reached.error, { meta: { connector: reached.target } });
        }
        return { items: present.map((g) => g.name) };
      },
    );
  };
}
