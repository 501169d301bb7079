import { createHash } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Actor } from "../../auth/actor.ts";
import { fail } from "../../directory/fail.ts";
import { DEFAULT_GROUP_METASCHEMA } from "../../directory/metaschema.ts";
import { resolveOrgId } from "../../directory/org-scope.ts";
import { getOrgRow, resetGroupMetaschema, setGroupMetaschema } from "../../directory/orgs.service.ts";
import { Conflict, FrontierOperationNotServed, NotFound, ValidationFailed } from "../../errors.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import { frontierErrors } from "./errors.ts";
import { read, TAGS, write } from "./route-config.ts";
import { Empty, MetaSchemaParams, MetaSchemaRequestBody, MetaSchemaResponse, MetaSchemasResponse } from "./schemas.ts";

/** The one Frontier metaschema Gatehouse has: the organisation's group metaschema. */
const GROUP = "group";

/**
 * The stable Frontier id of an organisation's group metaschema: a name-based (version 5 layout)
 * UUID of the organisation id, since the native metaschema is keyed by organisation and kind.
 */
export function groupMetaschemaId(orgId: string): string {
  const hex = createHash("sha1").update(`gatehouse/frontier-metaschema/${orgId}/${GROUP}`).digest("hex");
  const variant = ((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** The caller's group metaschema as a Frontier `MetaSchema`; the built-in default when the organisation has none. */
async function presentGroupMetaschema(db: Queryable, orgId: string) {
  const org = await getOrgRow(db, orgId);
  const row = await db
    .selectFrom("metaschemas")
    .where("org_id", "=", orgId)
    .where("kind", "=", GROUP)
    .select(["schema", "updated_at"])
    .executeTakeFirst();
  return {
    id: groupMetaschemaId(orgId),
    name: GROUP,
    schema: JSON.stringify(row?.schema ?? DEFAULT_GROUP_METASCHEMA),
    created_at: org.created_at.toISOString(),
    updated_at: (row?.updated_at ?? org.created_at).toISOString(),
  };
}

/** Frontier's metaschemas are instance-wide; Gatehouse's are per organisation: the caller's (PSK: `default`). */
function callerOrg(db: Queryable, actor: Actor): Promise<string> {
  return resolveOrgId(db, actor, undefined);
}

/** Refuses a metaschema other than `group`: Gatehouse validates no other entity's metadata. */
function onlyGroup(name: string, field: string): void {
  if (name === GROUP) return;
  const message = `\`${field.replace(/^body\./, "")}\`: Gatehouse validates only group metadata (metaschema \`group\`), not \`${name}\``;
  throw FrontierOperationNotServed(message, { details: [{ field, rule: "not_served", message }] });
}

/** The JSON text of `schema` as an object, as Frontier requires (`metaschema schema must be a JSON object`). */
function parseSchema(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw fail(ValidationFailed, "body.schema", "json_object", "metaschema schema must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * Frontier's `/v1beta1/meta/schemas` over the organisation's group metaschema
 * (`/v1/orgs/{id}/metaschemas/group`). Only `group` exists; its id is derived from the organisation.
 */
export function frontierMetaschemaRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const idOf = async (actor: Actor, idOrName: string): Promise<string> => {
      const orgId = await callerOrg(db.kysely, actor);
      if (idOrName !== GROUP && idOrName.toLowerCase() !== groupMetaschemaId(orgId)) {
        throw fail(NotFound, "path.id", "exists", "metaschema doesn't exist");
      }
      return orgId;
    };

    app.get(
      "/v1beta1/meta/schemas",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List metaschemas (Frontier ListMetaSchemas)",
          description:
            "One metaschema, `group`: the caller's organisation's group metaschema (the general PSK: `default`'s), the built-in default when it has none. Frontier's `user`, `organization`, `role` and `prospect` metaschemas do not exist: Gatehouse does not validate those metadata.",
          response: { 200: MetaSchemasResponse, ...frontierErrors(401, 403, 500) },
        },
      },
      async (request) => ({
        metaschemas: [await presentGroupMetaschema(db.kysely, await callerOrg(db.kysely, request.actor))],
      }),
    );

    app.get(
      "/v1beta1/meta/schemas/:id",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get metaschema (Frontier GetMetaSchema)",
          description: "By id or by name (`group`), as Frontier's get; anything else is 404 (code 5).",
          params: MetaSchemaParams,
          response: { 200: MetaSchemaResponse, ...frontierErrors(401, 403, 404, 500) },
        },
      },
      async (request) => ({
        metaschema: await presentGroupMetaschema(db.kysely, await idOf(request.actor, request.params.id)),
      }),
    );

    app.post(
      "/v1beta1/meta/schemas",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Create metaschema (Frontier CreateMetaSchema)",
          description:
            "`name` must be `group` (any other is 501, code 12). It replaces the built-in default with the organisation's own schema (`setGroupMetaschema`: JSON Schema 2020-12, 400 code 3 when ajv cannot compile it); once the organisation has its own, creating again is 409 (code 6), as Frontier's unique name: update it instead.",
          body: MetaSchemaRequestBody,
          response: { 200: MetaSchemaResponse, ...frontierErrors(400, 401, 403, 409, 500, 501) },
        },
      },
      async (request) => {
        onlyGroup(request.body.name, "body.name");
        const schema = parseSchema(request.body.schema);
        const orgId = await callerOrg(db.kysely, request.actor);
        const metaschema = await db.transaction(async (tx) => {
          const own = await tx
            .selectFrom("metaschemas")
            .where("org_id", "=", orgId)
            .where("kind", "=", GROUP)
            .select("org_id")
            .executeTakeFirst();
          if (own) throw fail(Conflict, "body.name", "unique", "metaschema already exist");
          await setGroupMetaschema(tx, auditContextOf(request), orgId, schema);
          return presentGroupMetaschema(tx, orgId);
        });
        return { metaschema };
      },
    );

    app.put(
      "/v1beta1/meta/schemas/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Update metaschema (Frontier UpdateMetaSchema)",
          description:
            "Replaces the group metaschema (`setGroupMetaschema`); `name` must stay `group` (501 otherwise). Existing groups keep their metadata; the schema applies to later writes.",
          params: MetaSchemaParams,
          body: MetaSchemaRequestBody,
          response: { 200: MetaSchemaResponse, ...frontierErrors(400, 401, 403, 404, 500, 501) },
        },
      },
      async (request) => {
        const orgId = await idOf(request.actor, request.params.id);
        onlyGroup(request.body.name, "body.name");
        const schema = parseSchema(request.body.schema);
        const metaschema = await db.transaction(async (tx) => {
          await setGroupMetaschema(tx, auditContextOf(request), orgId, schema);
          return presentGroupMetaschema(tx, orgId);
        });
        return { metaschema };
      },
    );

    app.delete(
      "/v1beta1/meta/schemas/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Delete metaschema (Frontier DeleteMetaSchema)",
          description:
            "Drops the organisation's own group metaschema: the built-in default applies again (Gatehouse always validates group metadata, where Frontier stops validating). Without one of its own, nothing changes.",
          params: MetaSchemaParams,
          response: { 200: Empty, ...frontierErrors(401, 403, 404, 500) },
        },
      },
      async (request) => {
        const orgId = await idOf(request.actor, request.params.id);
        await db.transaction((tx) => resetGroupMetaschema(tx, auditContextOf(request), orgId));
        return {};
      },
    );
  };
}
