import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { sql } from "kysely";
import { type AuditContext, auditContextOf } from "../audit/audit.service.ts";
import { createUserRow, deleteUser, updateUser } from "../directory/users.service.ts";
import { ValidationFailed } from "../errors.ts";
import type { Db, Tx } from "../storage/db.ts";
import type { GroupRow, UserRow } from "../storage/schema.ts";
import { scimFail } from "./errors.ts";
import { filterToSql } from "./filter.ts";
import {
  baseOf,
  checkIfMatch,
  ListQuery,
  listResponse,
  orgOf,
  pagingOf,
  ResourceQuery,
  ScimBody,
  ScimIdParams,
  sendScim,
} from "./http.ts";
import type { ScimAuth } from "./index.ts";
import { applyPatch, patchOperationsOf } from "./patch.ts";
import { project, projectionOf, wants } from "./projection.ts";
import { presentUser, type UserFields, userFieldsOf } from "./resources.ts";
import { groupsOfUsers, listUsers, userOf } from "./store.ts";
import { writableBySCIM } from "./writable.ts";

const TAGS = ["scim"];

/** The native update of a SCIM write: every field, the SCIM attributes beside the others, source `scim`. */
async function writeUser(tx: Tx, ctx: AuditContext, current: UserRow, fields: UserFields, clientId: string) {
  const { scim: _old, ...otherAttributes } = current.attributes as Record<string, unknown>;
  await updateUser(tx, ctx, current.id, {
    username: fields.username,
    email: fields.email,
    displayName: fields.displayName,
    status: fields.active ? "active" : "disabled",
    attributes: Object.keys(fields.scim).length > 0 ? { ...otherAttributes, scim: fields.scim } : otherAttributes,
    externalId: fields.externalId,
    source: "scim",
  });
  return markedBy<UserRow>(tx, "users", current.id, clientId);
}

/** Marks a row as written by the SCIM client (migration 0015) and returns it as stored. */
export async function markedBy<R extends UserRow | GroupRow>(
  tx: Tx,
  table: "users" | "groups",
  id: string,
  clientId: string,
): Promise<R> {
  const rows = await sql<R>`
    update ${sql.table(table)} set scim_client_id = ${clientId}::uuid where id = ${id}::uuid returning *`.execute(tx);
  return rows.rows[0] as R;
}

/** The id of the calling SCIM client. */
export function clientOf(request: FastifyRequest): string {
  return request.actor.id as string;
}

/**
 * `/scim/v2/Users` (RFC 7644 §3) over the directory's users: creates, updates and deletes go
 * through src/directory/users.service.ts in one transaction with their audit events; `active:
 * false` is the user's `disabled` status, so its decisions stop at once.
 */
export function scimUserRoutes(db: Db, auth: ScimAuth): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/scim/v2/Users",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Create a user (SCIM)", body: ScimBody },
      },
      async (request, reply) => {
        const fields = userFieldsOf(request.body);
        const ctx = auditContextOf(request);
        // one statement, atomic on its own: the insert (marked with the client) and its audit event
        const row = await createUserRow(db.kysely, ctx, {
          orgId: orgOf(request),
          username: fields.username,
          email: fields.email,
          displayName: fields.displayName,
          status: fields.active ? "active" : "disabled",
          attributes: Object.keys(fields.scim).length > 0 ? { scim: fields.scim } : {},
          source: "scim",
          externalId: fields.externalId,
          scimClientId: clientOf(request),
        });
        const body = presentUser(row, baseOf(request), []);
        reply.header("location", (body.meta as { location: string }).location);
        return sendScim(reply, 201, body);
      },
    );

    app.get(
      "/scim/v2/Users",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "List and filter users (SCIM)", querystring: ListQuery },
      },
      async (request, reply) => {
        const { startIndex, offset, count } = pagingOf(request.query);
        const where = request.query.filter ? filterToSql(request.query.filter, "User") : null;
        const projection = projectionOf(request.query.attributes, request.query.excludedAttributes);
        const page = await listUsers(db.kysely, orgOf(request), where, offset, count, wants(projection, "groups"));
        const groups = page.groups;
        const base = baseOf(request);
        const resources = page.rows.map((row) => project(presentUser(row, base, groups?.get(row.id)), projection));
        return reply
          .header("content-type", "application/scim+json; charset=utf-8")
          .send(listResponse(resources, page.total, startIndex));
      },
    );

    app.get(
      "/scim/v2/Users/:id",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "Read a user (SCIM)", params: ScimIdParams, querystring: ResourceQuery },
      },
      async (request, reply) => {
        const row = await userOf(db.kysely, orgOf(request), request.params.id);
        const projection = projectionOf(request.query.attributes, request.query.excludedAttributes);
        const groups = wants(projection, "groups") ? (await groupsOfUsers(db.kysely, [row.id])).get(row.id) : undefined;
        const full = presentUser(row, baseOf(request), groups);
        return sendScim(reply, 200, project(full, projection));
      },
    );

    app.put(
      "/scim/v2/Users/:id",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Replace a user (SCIM)", params: ScimIdParams, body: ScimBody },
      },
      async (request, reply) => {
        const fields = userFieldsOf(request.body);
        const base = baseOf(request);
        const row = await db.transaction(async (tx) => {
          const current = await userOf(tx, orgOf(request), request.params.id, true);
          writableBySCIM(current, "user");
          checkIfMatch(request, (presentUser(current, base).meta as { version: string }).version);
          return writeUser(tx, auditContextOf(request), current, fields, clientOf(request));
        });
        const groups = (await groupsOfUsers(db.kysely, [row.id])).get(row.id);
        return sendScim(reply, 200, presentUser(row, base, groups));
      },
    );

    app.patch(
      "/scim/v2/Users/:id",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Modify a user (SCIM PatchOp)", params: ScimIdParams, body: ScimBody },
      },
      async (request, reply) => {
        const operations = patchOperationsOf(request.body);
        const base = baseOf(request);
        const row = await db.transaction(async (tx) => {
          const current = await userOf(tx, orgOf(request), request.params.id, true);
          writableBySCIM(current, "user");
          const resource = presentUser(current, base);
          checkIfMatch(request, (resource.meta as { version: string }).version);
          const ops = operations.filter((op) => {
            const path = op.path?.toLowerCase();
            if (path !== "id" && path !== "meta" && path !== "schemas") return true;
            // providers echo the id in a path-less replace ({id, displayName}): harmless when unchanged
            if (path === "id" && op.value === current.id) return false;
            if (path === "schemas") return false;
            throw scimFail(ValidationFailed, "mutability", "body.Operations", `\`${op.path}\` is read-only`);
          });
          const patched = applyPatch(resource, ops);
          return writeUser(tx, auditContextOf(request), current, userFieldsOf(patched), clientOf(request));
        });
        const groups = (await groupsOfUsers(db.kysely, [row.id])).get(row.id);
        return sendScim(reply, 200, presentUser(row, base, groups));
      },
    );

    app.delete(
      "/scim/v2/Users/:id",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Delete a user (SCIM)", params: ScimIdParams },
      },
      async (request, reply) => {
        const base = baseOf(request);
        await db.transaction(async (tx) => {
          const current = await userOf(tx, orgOf(request), request.params.id, true);
          writableBySCIM(current, "user");
          checkIfMatch(request, (presentUser(current, base).meta as { version: string }).version);
          await deleteUser(tx, auditContextOf(request), current.id, false);
        });
        return reply.code(204).send();
      },
    );
  };
}
