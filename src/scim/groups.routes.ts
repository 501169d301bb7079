import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { type AuditContext, auditContextOf, recordAudit } from "../audit/audit.service.ts";
import { createGroup, deleteGroup, updateGroup } from "../directory/groups.service.ts";
import { batchMembers } from "../directory/members.service.ts";
import { presentGroup as presentNativeGroup } from "../directory/present.ts";
import { ValidationFailed } from "../errors.ts";
import type { Db, Queryable, Tx } from "../storage/db.ts";
import type { GroupRow } from "../storage/schema.ts";
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
import { type MemberChange, memberOperations } from "./members-patch.ts";
import { applyPatch, patchOperationsOf } from "./patch.ts";
import { type Projection, project, projectionOf, wants } from "./projection.ts";
import { groupFieldsOf, presentGroup, type ScimResource } from "./resources.ts";
import { checkMembers, groupOf, listGroups, memberDigests, membersOfGroups } from "./store.ts";
import { clientOf, markedBy } from "./users.routes.ts";
import { writableBySCIM } from "./writable.ts";

const TAGS = ["scim"];

/** Groups as SCIM Groups; members are loaded only when the projection returns them. */
async function present(db: Queryable, rows: GroupRow[], base: string, projection: Projection | null) {
  const ids = rows.map((r) => r.id);
  const digests = await memberDigests(db, ids);
  const members = projection === null || wants(projection, "members") ? await membersOfGroups(db, ids) : null;
  return rows.map((row) => {
    const full = presentGroup(row, base, digests.get(row.id) ?? "", members?.get(row.id));
    return projection ? project(full, projection) : full;
  });
}

async function presentOne(db: Queryable, row: GroupRow, base: string, projection: Projection | null = null) {
  return (await present(db, [row], base, projection))[0] as ScimResource;
}

/** The current version of a group (for `If-Match`), without loading its members. */
async function versionOfGroup(db: Queryable, row: GroupRow, base: string): Promise<string> {
  const digest = (await memberDigests(db, [row.id])).get(row.id) ?? "";
  return (presentGroup(row, base, digest).meta as { version: string }).version;
}

/** Applies a membership change through the directory's batch service (one audited transaction). */
async function applyMembers(tx: Tx, ctx: AuditContext, group: GroupRow, change: MemberChange, field: string) {
  let add: string[];
  let remove: string[];
  if (change.kind === "set") {
    const current = (await membersOfGroups(tx, [group.id])).get(group.id)?.map((m) => m.id) ?? [];
    const now = new Set(current);
    add = [...change.ids].filter((id) => !now.has(id));
    remove = current.filter((id) => !change.ids.has(id));
  } else {
    add = [...change.add];
    remove = [...change.remove];
  }
  await checkMembers(tx, group.org_id, add, field);
  // removing a user that is not a member is a no-op, as RFC 7644 §3.5.2.2 allows
  const known = remove.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (add.length === 0 && known.length === 0) return;
  const result = await batchMembers(tx, ctx, group.id, { add, remove: known });
  // members are part of a SCIM group: a change is a modification (`meta.lastModified`)
  if (result.added + result.removed > 0) {
    await tx.updateTable("groups").set({ updated_at: new Date() }).where("id", "=", group.id).execute();
  }
}

/** Renames and re-keys a group as SCIM asks; the name goes through the directory's rules. */
async function writeGroup(
  tx: Tx,
  ctx: AuditContext,
  current: GroupRow,
  fields: { displayName: string; externalId: string | null },
  clientId: string,
): Promise<GroupRow> {
  if (fields.displayName !== current.name) await updateGroup(tx, ctx, current.id, { name: fields.displayName });
  if (fields.externalId !== current.external_id || current.source !== "scim") {
    // the external id and the source have no directory rule: written here, audited like any change
    const before = await groupOf(tx, current.org_id, current.id);
    const after = await tx
      .updateTable("groups")
      .set({ external_id: fields.externalId, source: "scim", updated_at: new Date() })
      .where("id", "=", current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(tx, ctx, {
      action: "group.updated",
      targetType: "group",
      targetId: current.id,
      orgId: current.org_id,
      before: presentNativeGroup(before),
      after: presentNativeGroup(after),
    });
  }
  return markedBy<GroupRow>(tx, "groups", current.id, clientId);
}

/** True when the request asks for the resource back (`attributes`/`excludedAttributes`). */
function wantsBody(request: FastifyRequest<{ Querystring: { attributes?: string; excludedAttributes?: string } }>) {
  return request.query.attributes !== undefined || request.query.excludedAttributes !== undefined;
}

/**
 * `/scim/v2/Groups` (RFC 7644 §3) over the directory's groups and memberships, through
 * src/directory/groups.service.ts and members.service.ts. Members are users (nested groups are
 * refused). PATCH answers 204 (Entra ID expects it) unless the query asks for attributes.
 */
export function scimGroupRoutes(db: Db, auth: ScimAuth): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/scim/v2/Groups",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Create a group (SCIM)", body: ScimBody },
      },
      async (request, reply) => {
        const fields = groupFieldsOf(request.body);
        const ctx = auditContextOf(request);
        const base = baseOf(request);
        const row = await db.transaction(async (tx) => {
          const view = await createGroup(tx, ctx, {
            orgId: orgOf(request),
            name: fields.displayName,
            externalId: fields.externalId,
            source: "scim",
            creatorBecomesOwner: false,
          });
          const group = await markedBy<GroupRow>(tx, "groups", view.id, clientOf(request));
          if (fields.members && fields.members.length > 0) {
            await applyMembers(tx, ctx, group, { kind: "set", ids: new Set(fields.members) }, "body.members");
          }
          return group;
        });
        const body = await presentOne(db.kysely, await groupOf(db.kysely, row.org_id, row.id), base);
        reply.header("location", (body.meta as { location: string }).location);
        return sendScim(reply, 201, body);
      },
    );

    app.get(
      "/scim/v2/Groups",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "List and filter groups (SCIM)", querystring: ListQuery },
      },
      async (request, reply) => {
        const { startIndex, offset, count } = pagingOf(request.query);
        const where = request.query.filter ? filterToSql(request.query.filter, "Group") : null;
        const page = await listGroups(db.kysely, orgOf(request), where, offset, count);
        const projection = projectionOf(request.query.attributes, request.query.excludedAttributes);
        const resources = await present(db.kysely, page.rows, baseOf(request), projection);
        return reply
          .header("content-type", "application/scim+json; charset=utf-8")
          .send(listResponse(resources, page.total, startIndex));
      },
    );

    app.get(
      "/scim/v2/Groups/:id",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "Read a group (SCIM)", params: ScimIdParams, querystring: ResourceQuery },
      },
      async (request, reply) => {
        const row = await groupOf(db.kysely, orgOf(request), request.params.id);
        const projection = projectionOf(request.query.attributes, request.query.excludedAttributes);
        return sendScim(reply, 200, await presentOne(db.kysely, row, baseOf(request), projection));
      },
    );

    app.put(
      "/scim/v2/Groups/:id",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Replace a group (SCIM)", params: ScimIdParams, body: ScimBody },
      },
      async (request, reply) => {
        const fields = groupFieldsOf(request.body);
        const base = baseOf(request);
        const ctx = auditContextOf(request);
        const row = await db.transaction(async (tx) => {
          const current = await groupOf(tx, orgOf(request), request.params.id, true);
          writableBySCIM(current, "group");
          checkIfMatch(request, await versionOfGroup(tx, current, base));
          const group = await writeGroup(tx, ctx, current, fields, clientOf(request));
          // a PUT replaces everything it may: no `members` means no members (RFC 7644 §3.5.1)
          await applyMembers(tx, ctx, group, { kind: "set", ids: new Set(fields.members ?? []) }, "body.members");
          return group;
        });
        return sendScim(reply, 200, await presentOne(db.kysely, await groupOf(db.kysely, row.org_id, row.id), base));
      },
    );

    app.patch(
      "/scim/v2/Groups/:id",
      {
        config: { ...auth, ability: "directory.write" },
        schema: {
          tags: TAGS,
          summary: "Modify a group (SCIM PatchOp)",
          description:
            "Answers 204 No Content, or 200 with the group when `attributes` or `excludedAttributes` is given.",
          params: ScimIdParams,
          querystring: ResourceQuery,
          body: ScimBody,
        },
      },
      async (request, reply) => {
        const operations = patchOperationsOf(request.body);
        const base = baseOf(request);
        const ctx = auditContextOf(request);
        const row = await db.transaction(async (tx) => {
          const current = await groupOf(tx, orgOf(request), request.params.id, true);
          writableBySCIM(current, "group");
          checkIfMatch(request, await versionOfGroup(tx, current, base));
          const currentIds = async () =>
            (await membersOfGroups(tx, [current.id])).get(current.id)?.map((m) => m.id) ?? [];
          const split = memberOperations(operations, currentIds);
          // membership operations of the usual shapes apply without reading the members; the rest
          // (and any other membership shape) goes through scim-patch on the resource
          const withMembers = split === null;
          const rest = (split?.rest ?? operations).filter((op) => {
            const path = op.path?.toLowerCase();
            if (path === "id" && op.value === current.id) return false;
            if (path === "schemas") return false;
            if (path === "id" || path === "meta") {
              throw scimFail(ValidationFailed, "mutability", "body.Operations", `\`${op.path}\` is read-only`);
            }
            return true;
          });
          let group = current;
          if (rest.length > 0) {
            const resource = await presentOne(
              tx,
              current,
              base,
              withMembers ? null : projectionOf(undefined, "members"),
            );
            const patched = applyPatch(resource, rest);
            const fields = groupFieldsOf(patched);
            group = await writeGroup(tx, ctx, current, fields, clientOf(request));
            if (withMembers) {
              await applyMembers(
                tx,
                ctx,
                group,
                { kind: "set", ids: new Set(fields.members ?? []) },
                "body.Operations",
              );
            }
          }
          if (split?.change) {
            await applyMembers(tx, ctx, group, await split.change(), "body.Operations");
            group = await markedBy<GroupRow>(tx, "groups", current.id, clientOf(request));
          }
          return group;
        });
        if (!wantsBody(request)) return reply.code(204).send();
        const projection = projectionOf(request.query.attributes, request.query.excludedAttributes);
        const fresh = await groupOf(db.kysely, row.org_id, row.id);
        return sendScim(reply, 200, await presentOne(db.kysely, fresh, base, projection));
      },
    );

    app.delete(
      "/scim/v2/Groups/:id",
      {
        config: { ...auth, ability: "directory.write" },
        schema: { tags: TAGS, summary: "Delete a group (SCIM)", params: ScimIdParams },
      },
      async (request, reply) => {
        const base = baseOf(request);
        await db.transaction(async (tx) => {
          const current = await groupOf(tx, orgOf(request), request.params.id, true);
          writableBySCIM(current, "group");
          checkIfMatch(request, await versionOfGroup(tx, current, base));
          // members go with the group; policies naming it keep it (PRINCIPAL_IN_POLICIES, 409)
          await deleteGroup(tx, auditContextOf(request), current.id, true, false);
        });
        return reply.code(204).send();
      },
    );
  };
}
