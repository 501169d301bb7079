import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { type AuditContext, auditContextOf } from "../../audit/audit.service.ts";
import { defaultOrgId } from "../../directory/default-org.ts";
import { checkGroupName } from "../../directory/group-names.ts";
import { createGroup, findGroupByName } from "../../directory/groups.service.ts";
import { AppError, NameInvalid } from "../../errors.ts";
import { quote } from "../../http/error-handler.ts";
import type { Db } from "../../storage/db.ts";
import { fastApiValidationShape } from "./errors.ts";
import { errorResponses, HTTPValidationError, NameListResponse, NX1_SECURITY, NX1_TAGS } from "./schemas.ts";
import { nx1StrictValidator } from "./strict-body.ts";

/**
 * Pushes groups to the external systems Nx1 keeps in step (Keycloak, Ranger). Called after the
 * groups exist in the directory, inside the same transaction, so a failure (answered 502) leaves
 * nothing behind. The sync work will supply one; until then the directory is the only target.
 */
export type GroupPush = (names: string[], ctx: AuditContext) => Promise<void>;

/**
 * Names one `metadata/groups` request may create: each is a lookup and a write in one transaction,
 * so the count bounds how long the request holds the database (docs/policies.md, Nx1 routes).
 */
export const MAX_GROUP_NAMES = 1000;

/** Names created between two yields to the event loop (see the loop below). */
const YIELD_EVERY = 10;

/** `POST /api/govern/data-access/metadata/groups` (Nx1 seed 000). */
export function nx1GroupRoutes(db: Db, push?: GroupPush): FastifyPluginAsyncTypebox {
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
            "Nx1-compatible. Creates each named group in the default organisation of the directory; groups that exist (names compare case-insensitively) are left as they are. Answers the names now present. An invalid name is 400 naming it, and then nothing is created; a malformed body is 422 in FastAPI's shape.",
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
          const out: string[] = [];
          for (const [i, name] of names.entries()) {
            // the embedded database answers on this thread: let other requests (health checks) in
            if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
            const existing = await findGroupByName(tx, orgId, name);
            out.push(existing ? existing.name : (await createGroup(tx, ctx, { orgId, name })).name);
          }
          if (push) await push(out, ctx);
          return out;
        });
        return { items: present };
      },
    );
  };
}
