import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { type AuditContext, auditContextOf } from "../../audit/audit.service.ts";
import { CreateRoleBody } from "../../directory/directory.schemas.ts";
import { assertSameOrg, resolveOrgId } from "../../directory/org-scope.ts";
import { createRole, deleteRole, getRoleRow, updateRole } from "../../directory/roles.service.ts";
import { exportRangerRoles } from "../../distribution/ranger-roles.ts";
import { fieldError, RoleNotFound, ValidationFailed } from "../../errors.ts";
import type { Db, Tx } from "../../storage/db.ts";
import type { RoleRow } from "../../storage/schema.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";
import {
  currentMembers,
  type DesiredMembers,
  memberNames,
  type NamedMember,
  namedMembers,
  namedStrings,
  type RangerRoleMember,
  refuseRoleAdmin,
  roleByName,
  roleByNum,
  setRoleMembers,
} from "./role-members.ts";
import { RangerRole } from "./roles-zones.routes.ts";

const tags = ["ranger-public-api"];
const write = { ability: "directory.write", errorShape: rangerErrorShape } as const;
const Name = Type.String({ minLength: 1, maxLength: 767 });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Member = Type.Object(
  { name: Name, isAdmin: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])) },
  { additionalProperties: true },
);
const Members = (what: string) =>
  Type.Optional(Type.Union([Type.Array(Member, { maxItems: 10_000 }), Type.Null()], { description: what }));
const Names = Type.Optional(Type.Union([Type.Array(Name, { maxItems: 10_000 }), Type.Null()]));
/** Ranger's `RangerRole` as clients send it (shared with the plugin role routes). */
export const RoleInput = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    name: CreateRoleBody.properties.name,
    description: Nullable(Type.String({ maxLength: 4096 })),
    users: Members("Users holding the role (organisation-scope role bindings)"),
    groups: Members("Groups holding the role: their members hold it (organisation-scope role bindings)"),
    roles: Members("Member roles: whoever holds one of them holds this role (they bundle it as a composite)"),
  },
  {
    title: "RangerRoleInput",
    additionalProperties: true,
    description:
      "Ranger's `RangerRole`; other fields (`guid`, `options`, `createdByUser`, times, ...) are accepted and ignored. `isAdmin: true` is refused: Gatehouse has no role administrators.",
  },
);
const MembersQuery = Type.Object(
  {
    createNonExistUserGroup: Type.Optional(
      Type.Boolean({ description: "Create local users and groups that do not exist instead of refusing them" }),
    ),
  },
  { additionalProperties: true },
);
const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });
const UsersAndGroups = Type.Object(
  { users: Names, groups: Names, isAdmin: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])) },
  { additionalProperties: false, title: "RangerRoleUsersAndGroups" },
);
/** Ranger's `GrantRevokeRoleRequest` (shared with the plugin role routes). */
export const GrantRevokeRoleRequest = Type.Object(
  {
    targetRoles: Type.Array(Name, { minItems: 1, maxItems: 1_000, description: "Roles granted or revoked" }),
    users: Names,
    groups: Names,
    roles: Names,
    grantOption: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    grantor: Nullable(Type.String()),
  },
  {
    title: "GrantRevokeRoleRequest",
    additionalProperties: true,
    description:
      "Ranger's `GrantRevokeRoleRequest`: `users`, `groups` and `roles` gain (grant) or lose (revoke) each target role. `grantor`, `grantorGroups`, `clientIPAddress`, ... are accepted and ignored: the caller's own credentials decide.",
  },
);
/** Ranger's `RESTResponse` on success (shared with the plugin role routes). */
export const RestResponse = Type.Object(
  { httpStatusCode: Type.Integer(), statusCode: Type.Integer(), messageList: Type.Array(Type.Unknown()) },
  { title: "RESTResponse", additionalProperties: true },
);

/** The body `RoleInput` validates. */
export type RoleInputT = {
  id?: number | null;
  name: string;
  description?: string | null;
  users?: RangerRoleMember[] | null;
  groups?: RangerRoleMember[] | null;
  roles?: RangerRoleMember[] | null;
};

/** The role as Ranger clients read it back (the same view as `GET /roles/{id}` and the plugins' download). */
export async function presentRole(tx: Tx, role: RoleRow) {
  const found = (await exportRangerRoles(tx, "")).rangerRoles?.find((r) => r.id === role.num);
  if (!found) throw RoleNotFound(`role ${role.num} not found`);
  return found;
}

/** A whole `RangerRole`'s member lists (absent lists are empty, as Ranger replaces them whole). */
export function desiredOf(body: RoleInputT): DesiredMembers {
  return {
    users: namedMembers(body.users ?? [], "body.users"),
    groups: namedMembers(body.groups ?? [], "body.groups"),
    roles: namedMembers(body.roles ?? [], "body.roles"),
  };
}

/** The role Ranger numbers `num`, refused (403) when it belongs to another organisation than the caller's. */
async function writableRole(tx: Tx, request: FastifyRequest, num: number): Promise<RoleRow> {
  const role = await roleByNum(tx, num);
  if (role.org_id) assertSameOrg(request.actor, role.org_id);
  return role;
}

/** Adds names to, or removes names from, the role's current member lists. */
export async function changeMembers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  role: RoleRow,
  change: { users: NamedMember[]; groups: NamedMember[]; roles: NamedMember[] },
  add: boolean,
) {
  const now = memberNames(await currentMembers(tx, orgId, role.id));
  const apply = (current: string[], named: NamedMember[], field: string): NamedMember[] => {
    const keep = current.map((name, i) => ({ name, field: `${field}[${i}]` }));
    if (add) return [...keep, ...named];
    const gone = new Set(named.map((n) => n.name.toLowerCase()));
    return keep.filter((m) => !gone.has(m.name.toLowerCase()));
  };
  await setRoleMembers(
    tx,
    ctx,
    orgId,
    role,
    {
      users: apply(now.users, change.users, "body.users"),
      groups: apply(now.groups, change.groups, "body.groups"),
      roles: apply(now.roles, change.roles, "body.roles"),
    },
    false,
  );
}

/**
 * Ranger's v2 role writes (`RoleREST` through `PublicAPIsv2`) over the directory's roles: a
 * `RangerRole`'s users and groups are organisation-scope role bindings, its member roles are
 * composites (members of a member role hold the role), so `GET /roles/...`, the plugins' roles
 * download and decisions all see a change at once. Each request is one transaction through the
 * native role and binding services, which validate, guard privilege escalation and audit.
 */
export function rangerRoleWriteRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      `${RANGER_V2}/roles`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a role (Ranger v2)",
          description:
            "Users and groups must exist unless `createNonExistUserGroup=true`; member roles must exist. `serviceName` is accepted and ignored.",
          querystring: MembersQuery,
          body: RoleInput,
          response: { 200: RangerRole },
        },
      },
      async (request) => {
        const body = request.body as RoleInputT;
        const ctx = auditContextOf(request);
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        return (await db.transaction(async (tx) => {
          const desired = desiredOf(body);
          const view = await createRole(tx, ctx, { orgId, name: body.name, description: body.description ?? "" });
          const role = await getRoleRow(tx, view.id);
          await setRoleMembers(tx, ctx, orgId, role, desired, request.query.createNonExistUserGroup === true);
          return presentRole(tx, role);
        })) as never;
      },
    );

    app.put(
      `${RANGER_V2}/roles/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Replace a role (Ranger v2)",
          description:
            "The body replaces the role's name, description and member lists (an absent list is empty, as in Ranger). A body `id` other than the path's is a 400. Built-in roles keep their name and description; their members may change.",
          params: IdParams,
          querystring: MembersQuery,
          body: RoleInput,
          response: { 200: RangerRole },
        },
      },
      async (request) => {
        const body = request.body as RoleInputT;
        const ctx = auditContextOf(request);
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        return (await db.transaction(async (tx) => {
          const role = await writableRole(tx, request, request.params.id);
          if (body.id !== undefined && body.id !== null && body.id !== role.num) {
            throw fieldError(
              ValidationFailed,
              "body.id",
              "idMatchesPath",
              `${body.id} does not match the role being updated (${role.num})`,
            );
          }
          const desired = desiredOf(body);
          const description = body.description ?? "";
          if (body.name !== role.name || description !== role.description) {
            await updateRole(tx, ctx, role.id, { name: body.name, description });
          }
          await setRoleMembers(
            tx,
            ctx,
            role.org_id ?? orgId,
            role,
            desired,
            request.query.createNonExistUserGroup === true,
          );
          return presentRole(tx, await getRoleRow(tx, role.id));
        })) as never;
      },
    );

    app.delete(
      `${RANGER_V2}/roles/:id`,
      {
        config: write,
        schema: { tags, summary: "Delete a role (Ranger v2)", params: IdParams, response: { 204: Type.Null() } },
      },
      async (request, reply) => {
        await db.transaction(async (tx) => {
          const role = await writableRole(tx, request, request.params.id);
          await deleteRole(tx, auditContextOf(request), role.id);
        });
        return reply.code(204).send(null);
      },
    );

    app.delete(
      `${RANGER_V2}/roles/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a role by name (Ranger v2)",
          description: "`serviceName` and `execUser` are accepted and ignored: the caller's own credentials decide.",
          params: NameParams,
          querystring: Type.Record(Type.String(), Type.String()),
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        await db.transaction(async (tx) => {
          const role = await roleByName(tx, orgId, request.params.name, "path.name");
          await deleteRole(tx, auditContextOf(request), role.id);
        });
        return reply.code(204).send(null);
      },
    );

    const membership = (path: string, summary: string, description: string, add: boolean | "admin") =>
      app.put(
        `${RANGER_V2}/roles/:id/${path}`,
        {
          config: write,
          schema: {
            tags,
            summary,
            description,
            params: IdParams,
            body: UsersAndGroups,
            response: { 200: RangerRole },
          },
        },
        async (request) => {
          const body = request.body;
          if (add === true && body.isAdmin === true) refuseRoleAdmin("body.isAdmin");
          const ctx = auditContextOf(request);
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          return (await db.transaction(async (tx) => {
            const role = await writableRole(tx, request, request.params.id);
            const users = namedStrings(body.users ?? [], "body.users");
            const groups = namedStrings(body.groups ?? [], "body.groups");
            // Nobody is a role administrator here, so taking that away leaves the role as it is.
            if (add !== "admin") {
              await changeMembers(tx, ctx, role.org_id ?? orgId, role, { users, groups, roles: [] }, add);
            }
            return presentRole(tx, role);
          })) as never;
        },
      );
    membership(
      "addUsersAndGroups",
      "Add users and groups to a role (Ranger v2)",
      "Body `{users, groups, isAdmin}`; members already there stay. `isAdmin: true` is refused (no role administrators).",
      true,
    );
    membership(
      "removeUsersAndGroups",
      "Remove users and groups from a role (Ranger v2)",
      "Body `{users, groups}`; names that are not members are ignored.",
      false,
    );
    membership(
      "removeAdminFromUsersAndGroups",
      "Remove the admin option of users and groups of a role (Ranger v2)",
      "Gatehouse has no role administrators: the role is answered unchanged.",
      "admin",
    );

    const grantRevoke = (path: "grant" | "revoke", summary: string, description: string) =>
      app.put(
        `${RANGER_V2}/roles/${path}/:serviceName`,
        {
          config: write,
          schema: {
            tags,
            summary,
            description,
            params: ServiceNameParams,
            body: GrantRevokeRoleRequest,
            response: { 200: RestResponse },
          },
        },
        async (request) => {
          const body = request.body;
          const grant = path === "grant";
          if (grant && body.grantOption === true) refuseRoleAdmin("body.grantOption");
          const ctx = auditContextOf(request);
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          await db.transaction(async (tx) => {
            const change = {
              users: namedStrings(body.users ?? [], "body.users"),
              groups: namedStrings(body.groups ?? [], "body.groups"),
              roles: namedStrings(body.roles ?? [], "body.roles"),
            };
            for (const [i, name] of body.targetRoles.entries()) {
              const role = await roleByName(tx, orgId, name, `body.targetRoles[${i}]`);
              if (role.org_id) assertSameOrg(request.actor, role.org_id);
              // Revoking only the admin option (grantOption) changes nothing: nobody holds it here.
              if (grant || body.grantOption !== true) {
                await changeMembers(tx, ctx, role.org_id ?? orgId, role, change, grant);
              }
            }
          });
          return { httpStatusCode: 200, statusCode: 0, messageList: [] };
        },
      );
    grantRevoke(
      "grant",
      "Grant roles to users, groups and roles (Ranger v2)",
      "Each of `users`, `groups` and `roles` gains every target role (already there: unchanged). `grantOption: true` is refused (no role administrators). The path's service name is accepted and ignored.",
    );
    grantRevoke(
      "revoke",
      "Revoke roles from users, groups and roles (Ranger v2)",
      "Each of `users`, `groups` and `roles` loses every target role; with `grantOption: true` only the admin option would go, which nobody holds, so nothing changes.",
    );
  };
}
