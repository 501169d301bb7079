import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { sql } from "kysely";
import { type Static, Type } from "typebox";
import { type AuditContext, auditContextOf } from "../../audit/audit.service.ts";
import { fail } from "../../directory/fail.ts";
import { createGroup, deleteGroup, getGroupRow, updateGroup } from "../../directory/groups.service.ts";
import { listRoleBindings } from "../../directory/lists.ts";
import { batchMembers } from "../../directory/members.service.ts";
import { resolveOrgId } from "../../directory/org-scope.ts";
import { type BindingScope, normaliseScope } from "../../directory/role-bindings.service.ts";
import {
  AppError,
  GroupNotFound,
  IdentitySourceNotFound,
  LastOwner,
  NotFound,
  ReferenceNotFound,
  RoleNotFound,
  ValidationFailed,
} from "../../errors.ts";
import { verifyDirectoryGroup } from "../../identity-sources/directory-check.ts";
import { searchGroups } from "../../identity-sources/directory-search.ts";
import {
  getIdentitySourceRow,
  listIdentitySources,
  presentIdentitySource,
} from "../../identity-sources/identity-sources.service.ts";
import type { Db, Queryable, Tx } from "../../storage/db.ts";
import type { GroupRow, RoleBindingRow } from "../../storage/schema.ts";
import { addDirectoryMembers, type DirectoryPerson, readDirectoryUsers } from "../shared/directory-import.ts";
import { acceptEmptyJsonBody } from "../shared/empty-json-body.ts";
import { replaceGroupBindings, type WantedBinding } from "../shared/group-bindings.ts";
import { allGroups, directMembers, everyPage, rolesOf } from "../shared/reads.ts";
import { ARIA_CHALLENGE, ariaCredentials } from "./credentials.ts";
import { ariaErrorShape, ariaErrors } from "./errors.ts";
import {
  AriaRole,
  AriaScope,
  AuthSources,
  CreateUserGroupBody,
  IdParams,
  ListQuery,
  SearchBody,
  SearchResponse,
  UpdateUserGroupBody,
  UserGroup,
  UserGroups,
} from "./schemas.ts";

const TAGS = ["compat: vmware aria operations"];
const auth = {
  credentials: ariaCredentials,
  challenge: ARIA_CHALLENGE,
  credentialHint: "`Authorization: OpsToken <API key>` (or `vRealizeOpsToken`, Bearer, Basic, Authorization-PSK)",
  errorShape: ariaErrorShape,
};
const read = { ...auth, ability: "directory.read" as const };
const write = { ...auth, ability: "directory.write" as const };
const BASE = "/suite-api/api/auth";

type GroupBody = Static<typeof CreateUserGroupBody> | Static<typeof UpdateUserGroupBody>;

/**
 * Aria scope ids ↔ native binding scopes: `org` (the whole organisation, also for a missing
 * scopeId), `service:<service name>`, `resource:<selector>`.
 *
 * @throws VALIDATION_FAILED naming `field`.
 */
export function scopeOf(scopeId: string | null | undefined, field: string): BindingScope {
  if (!scopeId || scopeId === "org") return { type: "org" };
  const colon = scopeId.indexOf(":");
  const type = scopeId.slice(0, colon);
  if (colon < 0 || (type !== "service" && type !== "resource")) {
    throw fail(
      ValidationFailed,
      field,
      "scopeId",
      `\`${scopeId}\` is not a scope id: use \`org\`, \`service:<name>\` or \`resource:<selector>\``,
    );
  }
  try {
    return normaliseScope({ type, value: scopeId.slice(colon + 1) });
  } catch (err) {
    if (err instanceof AppError) throw fail(ValidationFailed, field, err.details[0]?.rule ?? "scopeId", err.message);
    throw err;
  }
}

/** The Aria scope id of a binding. */
export function scopeIdOf(binding: Pick<RoleBindingRow, "scope_type" | "scope">): string {
  return binding.scope_type === "org" ? "org" : `${binding.scope_type}:${binding.scope}`;
}

/**
 * The bindings a body asks for: `role-permissions` when given (it takes precedence), else the
 * deprecated `roleNames` at organisation scope; undefined when the body names neither.
 *
 * @throws REFERENCE_NOT_FOUND (422) for an unknown role; VALIDATION_FAILED for a bad scope or traversal specs.
 */
async function wantedBindings(db: Queryable, orgId: string, body: GroupBody): Promise<WantedBinding[] | undefined> {
  const roles = new Map((await rolesOf(db, orgId)).map((r) => [r.name.toLowerCase(), r.id]));
  const roleId = (name: string, field: string) => {
    const id = roles.get(name.toLowerCase());
    if (!id) throw fail(ReferenceNotFound, field, "exists", `role \`${name}\` does not exist`, { roleName: name });
    return id;
  };
  const permissions = body["role-permissions"];
  if (permissions) {
    return permissions.map((p, i) => {
      const at = `body.role-permissions[${i}]`;
      if ((p["traversal-spec-instances"] ?? []).length > 0) {
        throw fail(
          ValidationFailed,
          `${at}.traversal-spec-instances`,
          "unsupported",
          "traversal specs are not supported; grant on a resource scope (`resource:<selector>`) instead",
        );
      }
      return {
        roleId: roleId(p.roleName, `${at}.roleName`),
        scope: scopeOf(p.scopeId, `${at}.scopeId`),
        allowAllObjects: p.allowAllObjects ?? false,
      };
    });
  }
  if (body.roleNames) {
    return body.roleNames.map((name, i) => ({
      roleId: roleId(name, `body.roleNames[${i}]`),
      scope: { type: "org" as const },
      allowAllObjects: false,
    }));
  }
  return undefined;
}

/** An Aria `user-group`: the native group, its direct members and its role bindings. */
/** What an Aria user group shows besides its row: role names by id, its bindings, its direct members' ids. */
interface GroupExtras {
  roleNames: Map<string, string>;
  bindings: RoleBindingRow[];
  userIds: string[];
}

async function presentUserGroup(db: Queryable, group: GroupRow) {
  const [one] = await presentUserGroups(db, group.org_id, [group]);
  return one as ReturnType<typeof userGroupOf>;
}

/**
 * A list of groups as Aria user groups, with three reads for the whole list (roles, bindings,
 * memberships) instead of three per group: on the embedded database every read holds the server's
 * thread, and a list of a few hundred groups kept /healthz waiting past 100 ms (npm run fuzz:http).
 */
async function presentUserGroups(db: Queryable, orgId: string, groups: GroupRow[]) {
  if (groups.length === 0) return [];
  const ids = groups.map((g) => g.id);
  const [roles, bindings, members] = await Promise.all([
    rolesOf(db, orgId),
    db
      .selectFrom("role_bindings")
      .selectAll()
      .where("org_id", "=", orgId)
      .where("principal_type", "=", "group")
      .where("principal_id", "in", ids)
      .orderBy("id")
      .execute(),
    db
      .selectFrom("group_members")
      .select(["group_id", "user_id"])
      .where("group_id", "in", ids)
      .orderBy("user_id")
      .execute(),
  ]);
  const roleNames = new Map(roles.map((r) => [r.id, r.name]));
  const bindingsOf = Map.groupBy(bindings, (b) => b.principal_id);
  const membersOf = Map.groupBy(members, (m) => m.group_id);
  return groups.map((g) =>
    userGroupOf(g, {
      roleNames,
      bindings: bindingsOf.get(g.id) ?? [],
      userIds: (membersOf.get(g.id) ?? []).map((m) => m.user_id),
    }),
  );
}

function userGroupOf(group: GroupRow, extras: GroupExtras) {
  const permissions = extras.bindings.map((b) => ({
    roleName: extras.roleNames.get(b.role_id) ?? b.role_id,
    scopeId: scopeIdOf(b),
    allowAllObjects: b.allow_all_objects,
    "traversal-spec-instances": [],
  }));
  return {
    id: group.id,
    name: group.name,
    displayName: group.title || group.name,
    description: group.description,
    authSourceId: group.identity_source_id,
    userIds: extras.userIds,
    "role-permissions": permissions,
    roleNames: [...new Set(permissions.map((p) => p.roleName))],
    links: [{ href: `${BASE}/usergroups/${group.id}`, rel: "SELF", name: "linkToSelf" }],
  };
}

async function groupIn(db: Queryable, orgId: string, id: string, field = "path.id"): Promise<GroupRow> {
  const group = await getGroupRow(db, id, field).catch(() => null);
  if (!group || group.org_id !== orgId) throw fail(GroupNotFound, field, "exists", `user group \`${id}\` not found`);
  return group;
}

/** Adds and removes direct members so they are exactly `userIds`, naming a bad id by its place in `userIds`. */
async function setMembers(tx: Tx, ctx: AuditContext, groupId: string, userIds: string[]) {
  const current = new Set((await directMembers(tx, groupId)).map((m) => m.id));
  const wanted = new Set(userIds);
  const add = userIds.filter((id) => !current.has(id));
  const remove = [...current].filter((id) => !wanted.has(id));
  try {
    await batchMembers(tx, ctx, groupId, { add, remove });
  } catch (err) {
    const field = err instanceof AppError ? err.details[0]?.field : undefined;
    const index = field ? /^body\.add\[(\d+)\]$/.exec(field)?.[1] : undefined;
    if (err instanceof AppError && index !== undefined) {
      const id = add[Number(index)] as string;
      throw fail(ReferenceNotFound, `body.userIds[${userIds.indexOf(id)}]`, "exists", `user \`${id}\` does not exist`);
    }
    // A group made natively or through Frontier has owners; Aria cannot name them, so say which field.
    if (err instanceof AppError && err.code === "GROUP_LAST_OWNER") {
      throw fail(
        LastOwner,
        "body.userIds",
        "lastOwner",
        "would remove every owner of this group (a Gatehouse rule); keep one of its owners in userIds",
      );
    }
    throw err;
  }
}

/**
 * Creates a user group. With `authSourceId` the group is imported from that LDAP source: `name`
 * must be the DN of a group there (422 naming it otherwise, nothing written, where Aria would
 * create an orphan), and the directory's users become members. Roles come from
 * `role-permissions` (or `roleNames`), each a native role binding at its scope.
 */
async function createUserGroup(db: Db, request: FastifyRequest, body: Static<typeof CreateUserGroupBody>) {
  const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
  const bindings = await wantedBindings(db.kysely, orgId, body);
  let dn: string | null = null;
  let people: DirectoryPerson[] = [];
  if (body.authSourceId) {
    const source = await getIdentitySourceRow(db.kysely, body.authSourceId, "body.authSourceId").catch(() => null);
    if (!source || source.org_id !== orgId) {
      throw fail(ReferenceNotFound, "body.authSourceId", "exists", `auth source \`${body.authSourceId}\` not found`);
    }
    dn = (await verifyDirectoryGroup(db.kysely, orgId, source.id, body.name, true)).dn;
    people = await readDirectoryUsers(db.kysely, source, dn);
  }
  return db.transaction(async (tx) => {
    const ctx = auditContextOf(request);
    const group = await createGroup(tx, ctx, {
      orgId,
      name: body.name,
      title: body.displayName ?? (dn ? body.name : ""),
      description: body.description ?? "",
      ...(dn ? { source: "ldap" as const, externalId: dn, identitySourceId: body.authSourceId, validate: false } : {}),
      // Aria groups have no owners: `userIds` is the whole membership, so the caller is not added.
      creatorBecomesOwner: false,
    });
    await addDirectoryMembers(tx, ctx, orgId, group.id, people);
    if (body.userIds && body.userIds.length > 0) {
      await batchMembers(tx, ctx, group.id, { add: body.userIds }).catch((err) => {
        const index =
          err instanceof AppError ? /^body\.add\[(\d+)\]$/.exec(err.details[0]?.field ?? "")?.[1] : undefined;
        if (index === undefined) throw err;
        throw fail(
          ReferenceNotFound,
          `body.userIds[${index}]`,
          "exists",
          `user \`${body.userIds?.[Number(index)]}\` does not exist`,
        );
      });
    }
    if (bindings) await replaceGroupBindings(tx, ctx, orgId, group.id, bindings);
    return presentUserGroup(tx, await getGroupRow(tx, group.id));
  });
}

/**
 * VMware Aria Operations' user-group API (`/suite-api/api/auth/...`) over the native directory:
 * groups, LDAP import and search, auth sources, roles and scopes, with `OpsToken` /
 * `vRealizeOpsToken` authentication and Aria's error object.
 */
export function ariaRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    acceptEmptyJsonBody(app);
    app.post(
      `${BASE}/usergroups`,
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Create User Group (Aria createUserGroup)",
          description:
            "201 with the group. `id` must be absent or null. With `authSourceId`, `name` must be the DN of a group in that LDAP source: an unknown DN is 422 naming it and nothing is written (Aria would import an orphan); its users become members and `displayName` defaults to `name`. `role-permissions` become role bindings (`scopeId` `org`, `service:<name>` or `resource:<selector>`; `allowAllObjects` kept); non-empty `traversal-spec-instances` are refused (400).",
          body: CreateUserGroupBody,
          response: { 201: UserGroup, ...ariaErrors(400, 401, 403, 409, 422, 500, 502) },
        },
      },
      async (request, reply) => reply.code(201).send(await createUserGroup(db, request, request.body)),
    );

    app.get(
      `${BASE}/usergroups`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get User Groups (Aria getUserGroups)",
          description:
            "Every group of the caller's organisation, filtered by `id` and `name` (repeatable, exact, case-insensitive).",
          querystring: ListQuery,
          response: { 200: UserGroups, ...ariaErrors(400, 401, 403, 500) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        const ids = request.query.id?.map((i) => i.toLowerCase()) ?? [];
        const names = request.query.name?.map((n) => n.toLowerCase()) ?? [];
        let query = db.kysely.selectFrom("groups").selectAll().where("org_id", "=", orgId);
        if (ids.length > 0) query = query.where("id", "in", ids);
        if (names.length > 0) query = query.where((eb) => eb(eb.fn("lower", ["name"]), "in", names));
        const groups =
          ids.length > 0 || names.length > 0
            ? await query.orderBy(sql`lower(name)`).execute()
            : await allGroups(db.kysely, orgId);
        return { userGroups: await presentUserGroups(db.kysely, orgId, groups) };
      },
    );

    app.get(
      `${BASE}/usergroups/:id`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get User Group (Aria getUserGroup)",
          params: IdParams,
          response: { 200: UserGroup, ...ariaErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        return presentUserGroup(db.kysely, await groupIn(db.kysely, orgId, request.params.id));
      },
    );

    app.put(
      `${BASE}/usergroups`,
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Modify User Group (Aria modifyUserGroup)",
          description:
            "The whole group with its `id`: sets `name`, `displayName` and `description`; a given `userIds` becomes the exact direct membership; a given `role-permissions` (or `roleNames`) the exact set of role bindings. `authSourceId` cannot change (400).",
          body: UpdateUserGroupBody,
          response: { 200: UserGroup, ...ariaErrors(400, 401, 403, 404, 409, 422, 500) },
        },
      },
      async (request) => {
        const body = request.body;
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        const bindings = await wantedBindings(db.kysely, orgId, body);
        return db.transaction(async (tx) => {
          const ctx = auditContextOf(request);
          const group = await groupIn(tx, orgId, body.id, "body.id");
          if (body.authSourceId !== undefined && (body.authSourceId ?? null) !== group.identity_source_id) {
            throw fail(ValidationFailed, "body.authSourceId", "immutable", "the auth source of a group cannot change");
          }
          await updateGroup(tx, ctx, group.id, {
            name: body.name,
            ...(body.displayName !== undefined ? { title: body.displayName ?? "" } : {}),
            ...(body.description !== undefined ? { description: body.description ?? "" } : {}),
          });
          if (body.userIds) await setMembers(tx, ctx, group.id, body.userIds);
          if (bindings) await replaceGroupBindings(tx, ctx, orgId, group.id, bindings);
          return presentUserGroup(tx, await getGroupRow(tx, group.id));
        });
      },
    );

    app.delete(
      `${BASE}/usergroups/:id`,
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Delete User Group (Aria deleteUserGroup)",
          description:
            "Deletes the group with its memberships and role bindings; the directory is not touched. A group that data-access policies name is refused (409 listing them): remove it from the policies, or delete it with `DELETE /v1/groups/{id}?force=true`.",
          params: IdParams,
          response: { 204: Type.Null(), ...ariaErrors(400, 401, 403, 404, 409, 500) },
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

    app.post(
      `${BASE}/sources/:id/usergroups/search`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Search User Groups in an auth source (Aria searchUserGroups)",
          description:
            "Searches the LDAP source's groups by name (`*` wildcards); each result's `distinguishedName` is what to import as `name`.",
          params: IdParams,
          body: SearchBody,
          response: { 200: SearchResponse, ...ariaErrors(400, 401, 403, 404, 500, 502) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        const source = await getIdentitySourceRow(db.kysely, request.params.id).catch(() => null);
        if (!source || source.org_id !== orgId) {
          throw fail(IdentitySourceNotFound, "path.id", "exists", `auth source \`${request.params.id}\` not found`);
        }
        const found = await everyPage((cursor) =>
          searchGroups(db.kysely, source, { search: request.body.name, limit: 1000, cursor }),
        );
        return {
          userGroups: found.map((g) => ({
            name: g.name ?? g.dn,
            distinguishedName: g.dn,
            description: g.description ?? "",
          })),
        };
      },
    );

    app.get(
      `${BASE}/sources`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get Auth Sources (Aria getAuthSources)",
          description: "The organisation's LDAP identity sources; the bind credential is never shown.",
          response: { 200: AuthSources, ...ariaErrors(401, 403, 500) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        const sources = (await listIdentitySources(db.kysely, orgId)).map((row) => {
          const view = presentIdentitySource(row);
          const property = [
            { name: "url", value: view.config.url },
            { name: "baseDN", value: view.config.baseDn },
            { name: "bindDN", value: view.config.bindDn },
            { name: "groupSearchCriteria", value: view.config.groupFilter },
          ];
          return {
            id: view.id,
            name: view.name,
            sourceType: { id: "OPEN_LDAP", name: "Open LDAP", description: "LDAP identity source" },
            property,
            created: row.created_at.getTime(),
            lastModified: row.updated_at.getTime(),
            links: [],
          };
        });
        return { sources };
      },
    );

    const presentRole = (r: Awaited<ReturnType<typeof rolesOf>>[number]) => ({
      name: r.name,
      displayName: r.name,
      description: r.description,
      "privilege-keys": r.permissions,
      "system-created": r.builtin,
    });

    app.get(
      `${BASE}/roles`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get Roles (Aria getRoles)",
          description:
            "Gatehouse's built-in roles and the organisation's roles; `privilege-keys` are their permissions.",
          response: {
            200: Type.Object({ userRoles: Type.Array(AriaRole) }, { title: "AriaRoles" }),
            ...ariaErrors(401, 403, 500),
          },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        return { userRoles: (await rolesOf(db.kysely, orgId)).map(presentRole) };
      },
    );

    app.get(
      `${BASE}/roles/:roleName`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get Role By Name (Aria getRoleByName)",
          params: Type.Object({ roleName: Type.String({ minLength: 1, maxLength: 255 }) }),
          response: { 200: AriaRole, ...ariaErrors(401, 403, 404, 500) },
        },
      },
      async (request) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        const name = request.params.roleName.toLowerCase();
        const role = (await rolesOf(db.kysely, orgId)).find((r) => r.name.toLowerCase() === name);
        if (!role) throw fail(RoleNotFound, "path.roleName", "exists", `role \`${request.params.roleName}\` not found`);
        return presentRole(role);
      },
    );

    /** The organisation scope and every narrower scope some binding of the organisation uses. */
    const scopesOf = async (orgId: string) => {
      const bindings = await everyPage((cursor) => listRoleBindings(db.kysely, orgId, {}, 1000, cursor));
      const ids = new Set(bindings.filter((b) => b.scope_type !== "org").map(scopeIdOf));
      return [
        { id: "org", name: "Organisation", description: "Every object of the organisation" },
        ...[...ids].sort().map((id) => ({
          id,
          name: id.slice(id.indexOf(":") + 1),
          description: id.startsWith("service:") ? "One service" : "Resources matching a selector",
        })),
      ];
    };

    app.get(
      `${BASE}/scopes`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get All Object Scopes (Aria getScopes)",
          description:
            "Scope ids are `org`, `service:<service name>` and `resource:<selector>`: the organisation scope and every narrower scope some role binding uses. Any well-formed id can be used in `role-permissions`.",
          response: {
            200: Type.Object({ scopes: Type.Array(AriaScope) }, { title: "AriaScopes" }),
            ...ariaErrors(401, 403, 500),
          },
        },
      },
      async (request) => ({ scopes: await scopesOf(await resolveOrgId(db.kysely, request.actor, undefined)) }),
    );

    app.get(
      `${BASE}/scopes/:scopeId`,
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get Scope (Aria getScope)",
          params: Type.Object({ scopeId: Type.String({ minLength: 1, maxLength: 2100 }) }),
          response: { 200: AriaScope, ...ariaErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const scope = scopeOf(request.params.scopeId, "path.scopeId");
        const id = scope.type === "org" ? "org" : `${scope.type}:${scope.value}`;
        const found = (await scopesOf(await resolveOrgId(db.kysely, request.actor, undefined))).find(
          (s) => s.id === id,
        );
        if (!found) throw fail(NotFound, "path.scopeId", "exists", `scope \`${id}\` is used by no role binding`);
        return found;
      },
    );
  };
}
