import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import type { Static } from "typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fail } from "../../directory/fail.ts";
import { createGroup, deleteGroup, findGroupByName, getGroupRow } from "../../directory/groups.service.ts";
import { resolveOrgId } from "../../directory/org-scope.ts";
import { createRoleBinding, deleteRoleBinding } from "../../directory/role-bindings.service.ts";
import {
  DirectoryGroupNotFound,
  GroupNameTaken,
  GroupNotFound,
  ReferenceNotFound,
  ValidationFailed,
} from "../../errors.ts";
import { getIdentitySourceRow } from "../../identity-sources/identity-sources.service.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import type { GroupRow } from "../../storage/schema.ts";
import {
  addDirectoryMembers,
  type DirectoryPerson,
  locateDirectoryGroup,
  readDirectoryUsers,
} from "../shared/directory-import.ts";
import { acceptEmptyJsonBody } from "../shared/empty-json-body.ts";
import { replaceGroupBindings } from "../shared/group-bindings.ts";
import { allGroups, bindingsOfGroup, directMembers, rolesOf } from "../shared/reads.ts";
import { PUPPET_CHALLENGE, puppetCredentials } from "./credentials.ts";
import { puppetErrorShape, puppetErrors, RULE_ID_FILTER, RULE_INCONSISTENT_ID } from "./errors.ts";
import { CreateGroupBody, IdFilterQuery, IdParams, PuppetGroup, ReplaceGroupBody, RoleGroupsBody } from "./schemas.ts";

const TAGS = ["compat: puppet rbac"];
const auth = {
  credentials: puppetCredentials,
  challenge: PUPPET_CHALLENGE,
  credentialHint: "`X-Authentication: <API key>`",
  errorShape: puppetErrorShape,
};
const read = { ...auth, ability: "directory.read" as const };
const write = { ...auth, ability: "directory.write" as const };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const looksLikeDn = (text: string) => /^[A-Za-z][\w-]*=.+/.test(text) && text.includes(",");

/** Puppet's integer role ids ↔ Gatehouse roles, for the organisation (built-in roles included). */
async function roleNumbers(db: Queryable, orgId: string) {
  const roles = await rolesOf(db, orgId);
  return { byNum: new Map(roles.map((r) => [r.num, r.id])), byId: new Map(roles.map((r) => [r.id, r.num])) };
}

/** Maps `role_ids` to role ids, naming the first unknown one (422 `invalid-associated-id`). */
async function roleIdsOf(db: Queryable, orgId: string, nums: number[], field = "body.role_ids"): Promise<string[]> {
  const { byNum } = await roleNumbers(db, orgId);
  return [...new Set(nums)].map((num) => {
    const id = byNum.get(num);
    if (!id) {
      throw fail(ReferenceNotFound, `${field}[${nums.indexOf(num)}]`, "exists", `role id ${num} does not exist`, {
        role_id: num,
      });
    }
    return id;
  });
}

/** A Puppet group: `login` is the native name, `role_ids` its organisation-wide role bindings. */
async function presentGroup(db: Queryable, group: GroupRow) {
  const { byId } = await roleNumbers(db, group.org_id);
  const bindings = (await bindingsOfGroup(db, group.org_id, group.id)).filter((b) => b.scope_type === "org");
  const members = await directMembers(db, group.id);
  return {
    id: group.id,
    login: group.name,
    display_name: group.title || group.name,
    role_ids: [...new Set(bindings.map((b) => byId.get(b.role_id)).filter((n) => n !== undefined))].sort(
      (a, b) => a - b,
    ),
    is_group: true as const,
    is_remote: group.source !== "local",
    is_superuser: false as const,
    is_revoked: false,
    user_ids: members.map((m) => m.id),
    identity_provider_id: group.identity_source_id,
  };
}

/** A group of the caller's organisation, or 404 `not-found`. */
async function groupIn(db: Queryable, orgId: string, id: string): Promise<GroupRow> {
  const group = await getGroupRow(db, id, "path.id");
  if (group.org_id !== orgId) throw fail(GroupNotFound, "path.id", "exists", `group \`${id}\` not found`);
  return group;
}

/**
 * Creates a remote group the Puppet way. Cheap checks first (a taken login is 409, unknown role
 * ids 422); then, with `validate` (the default), the group must exist in the LDAP identity source
 * (the one named, else any of the organisation's), and its users are read from the directory.
 * Only then does one transaction write the group, its members and its role bindings, so a refusal
 * writes nothing.
 */
async function createRemoteGroup(db: Db, request: FastifyRequest, body: Static<typeof CreateGroupBody>) {
  const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
  const existing = await findGroupByName(db.kysely, orgId, body.login);
  if (existing) {
    throw fail(GroupNameTaken, "body.login", "unique", `a group with login \`${body.login}\` already exists`, {
      id: existing.id,
    });
  }
  const roleIds = await roleIdsOf(db.kysely, orgId, body.role_ids);
  const sourceId = body.identity_provider_id ?? undefined;
  let located: Awaited<ReturnType<typeof locateDirectoryGroup>> = null;
  let people: DirectoryPerson[] = [];
  if (body.validate ?? true) {
    located = await locateDirectoryGroup(db.kysely, orgId, sourceId, body.login);
    if (!located) {
      throw fail(
        DirectoryGroupNotFound,
        "body.login",
        "directoryGroupExists",
        `no group \`${body.login}\` was found in LDAP${sourceId ? ` identity source \`${sourceId}\`` : ""}; nothing was written`,
        { login: body.login },
      );
    }
    people = await readDirectoryUsers(db.kysely, located.source, located.dn);
  } else if (sourceId) {
    const source = await getIdentitySourceRow(db.kysely, sourceId, "body.identity_provider_id");
    if (source.org_id !== orgId) {
      throw fail(
        ReferenceNotFound,
        "body.identity_provider_id",
        "exists",
        `identity provider \`${sourceId}\` not found`,
      );
    }
  }
  return db.transaction(async (tx) => {
    const ctx = auditContextOf(request);
    const group = await createGroup(tx, ctx, {
      orgId,
      name: body.login,
      title: body.display_name ?? "",
      source: "ldap",
      externalId: located?.dn ?? (looksLikeDn(body.login) ? body.login : null),
      identitySourceId: located?.source.id ?? sourceId ?? null,
      validate: false,
      // Puppet groups have no owners: a remote group's users are the directory's, nobody else.
      creatorBecomesOwner: false,
    });
    await addDirectoryMembers(tx, ctx, orgId, group.id, people);
    await replaceGroupBindings(
      tx,
      ctx,
      orgId,
      group.id,
      roleIds.map((roleId) => ({ roleId, scope: { type: "org" }, allowAllObjects: false })),
      (b) => b.scope_type === "org",
    );
    return presentGroup(tx, await getGroupRow(tx, group.id));
  });
}

/**
 * Puppet Enterprise RBAC's user-group API (`/rbac-api/v1`, `/rbac-api/v2`) over the native
 * directory. Groups made here are remote: `login` names the directory group and its members are
 * read from the directory at creation; `role_ids` are the integer `num` of Gatehouse roles, bound
 * to the group at organisation scope. Authentication is `X-Authentication: <api key>`.
 */
export function puppetRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    acceptEmptyJsonBody(app);
    app.post(
      "/rbac-api/v2/groups",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Create a remote group (RBAC v2, deprecated in Puppet)",
          description:
            "With `validate` (default true) the group must exist in LDAP (422 `no-such-group-LDAP`, nothing written); its users become members. A login in use is 409 `conflict`, an unknown role id 422 `invalid-associated-id`. Success is 303 See Other with `Location: /rbac-api/v1/groups/<id>`.",
          body: CreateGroupBody,
          response: {
            303: Type.Null({ description: "Created; `Location` points at the group" }),
            ...puppetErrors(400, 401, 403, 409, 422, 500),
          },
        },
      },
      async (request, reply) => {
        const group = await createRemoteGroup(db, request, request.body);
        // 303 carries no body: an empty string is sent as is, never serialised as `null`.
        return reply
          .code(303)
          .header("location", `/rbac-api/v1/groups/${group.id}`)
          .type("text/plain; charset=utf-8")
          .send("" as unknown as null);
      },
    );

    app.post(
      "/rbac-api/v1/command/groups/create",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Create a remote group (RBAC command)",
          description: "As `POST /rbac-api/v2/groups`, answering 200 with the new group.",
          body: CreateGroupBody,
          response: { 200: PuppetGroup, ...puppetErrors(400, 401, 403, 409, 422, 500) },
        },
      },
      async (request) => createRemoteGroup(db, request, request.body),
    );

    app.get(
      "/rbac-api/v1/groups",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List groups",
          description:
            "Every group of the caller's organisation (unpaginated, as in Puppet); `id=<uuid>,<uuid>` filters (400 `invalid-id-filter` for a malformed list).",
          querystring: IdFilterQuery,
          response: { 200: Type.Array(PuppetGroup), ...puppetErrors(400, 401, 403, 500) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        let ids: Set<string> | null = null;
        if (request.query.id !== undefined) {
          const list = request.query.id.split(",").map((s) => s.trim());
          const bad = list.find((s) => !UUID.test(s));
          if (bad !== undefined) {
            throw fail(
              ValidationFailed,
              "query.id",
              RULE_ID_FILTER,
              `\`${bad}\` is not a uuid; give ids separated by commas`,
            );
          }
          ids = new Set(list.map((s) => s.toLowerCase()));
        }
        const groups = (await allGroups(db.kysely, orgId)).filter((g) => !ids || ids.has(g.id));
        const out = [];
        for (const g of groups) out.push(await presentGroup(db.kysely, g));
        return out;
      },
    );

    app.get(
      "/rbac-api/v1/groups/:id",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get a group",
          params: IdParams,
          response: { 200: PuppetGroup, ...puppetErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        return presentGroup(db.kysely, await groupIn(db.kysely, orgId, request.params.id));
      },
    );

    app.put(
      "/rbac-api/v1/groups/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Replace a group's roles",
          description:
            "Send the whole group; only `role_ids` is applied (an empty array removes every role). The group's organisation-wide bindings become exactly those roles; bindings at narrower scopes are left alone. A body `id` different from the path is 400 `inconsistent-id`.",
          params: IdParams,
          body: ReplaceGroupBody,
          response: { 200: PuppetGroup, ...puppetErrors(400, 401, 403, 404, 422, 500) },
        },
      },
      async (request) => {
        const { id } = request.params;
        if (request.body.id !== undefined && request.body.id.toLowerCase() !== id.toLowerCase()) {
          throw ValidationFailed(`body.id: \`${request.body.id}\` differs from the id in the url \`${id}\``, {
            details: [{ field: "body.id", rule: RULE_INCONSISTENT_ID, message: "differs from the id in the url" }],
            meta: { "url-id": id, "body-id": request.body.id },
          });
        }
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        return db.transaction(async (tx) => {
          const group = await groupIn(tx, orgId, id);
          const roleIds = await roleIdsOf(tx, orgId, request.body.role_ids);
          await replaceGroupBindings(
            tx,
            auditContextOf(request),
            orgId,
            id,
            roleIds.map((roleId) => ({ roleId, scope: { type: "org" }, allowAllObjects: false })),
            (b) => b.scope_type === "org",
          );
          return presentGroup(tx, group);
        });
      },
    );

    app.delete(
      "/rbac-api/v1/groups/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Delete a group",
          description:
            "Deletes the group from Gatehouse with its memberships and role bindings; the directory is not touched. A group that data-access policies name is refused (409 `conflict` listing them): remove it from the policies, or delete it with `DELETE /v1/groups/{id}?force=true`.",
          params: IdParams,
          response: { 204: Type.Null(), ...puppetErrors(400, 401, 403, 404, 409, 500) },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        await db.transaction(async (tx) => {
          await groupIn(tx, orgId, request.params.id);
          await deleteGroup(tx, auditContextOf(request), request.params.id, true, false);
        });
        return reply.code(204).send(null);
      },
    );

    for (const action of ["add-groups", "remove-groups"] as const) {
      app.post(
        `/rbac-api/v1/command/roles/${action}`,
        {
          config: write,
          schema: {
            tags: TAGS,
            summary: action === "add-groups" ? "Grant a role to groups" : "Revoke a role from groups",
            description:
              "Binds (or unbinds) the role at organisation scope for each group; groups that already have (or lack) it are left as they are. An unknown role or group is 422 `invalid-associated-id` and changes nothing.",
            body: RoleGroupsBody,
            response: { 204: Type.Null(), ...puppetErrors(400, 401, 403, 422, 500) },
          },
        },
        async (request, reply) => {
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          await db.transaction(async (tx) => {
            const ctx = auditContextOf(request);
            const [roleId] = await roleIdsOf(tx, orgId, [request.body.role_id], "body.role_id");
            for (const [index, groupId] of request.body.group_ids.entries()) {
              const group = await getGroupRow(tx, groupId).catch(() => null);
              if (!group || group.org_id !== orgId) {
                throw fail(ReferenceNotFound, `body.group_ids[${index}]`, "exists", `group \`${groupId}\` not found`);
              }
              const held = (await bindingsOfGroup(tx, orgId, groupId)).find(
                (b) => b.role_id === roleId && b.scope_type === "org",
              );
              if (action === "add-groups" && !held) {
                await createRoleBinding(tx, ctx, {
                  orgId,
                  roleId: roleId as string,
                  principal: { type: "group", id: groupId },
                });
              }
              if (action === "remove-groups" && held) await deleteRoleBinding(tx, ctx, held.id);
            }
          });
          return reply.code(204).send(null);
        },
      );
    }
  };
}
