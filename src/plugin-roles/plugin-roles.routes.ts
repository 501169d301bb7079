import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { Ability } from "../auth/abilities.ts";
import { rangerErrorShape } from "../compat/ranger/errors.ts";
import { NameParams } from "../compat/ranger/params.ts";
import { roleByName, setRoleMembers } from "../compat/ranger/role-members.ts";
import {
  desiredOf,
  GrantRevokeRoleRequest,
  presentRole,
  RestResponse,
  RoleInput,
  type RoleInputT,
} from "../compat/ranger/role-writes.routes.ts";
import { RangerRole } from "../compat/ranger/roles-zones.routes.ts";
import { assertSameOrg, resolveOrgId } from "../directory/org-scope.ts";
import { createRole, deleteRole, getRoleRow } from "../directory/roles.service.ts";
import { exportRangerRoles } from "../distribution/ranger-roles.ts";
import { RoleNotFound, UserNotFound } from "../errors.ts";
import type { Db } from "../storage/db.ts";
import {
  assertEffectiveAdmin,
  type GrantRevokeRoleBody,
  grantRevokeRoles,
  refuseMacroUsers,
} from "./plugin-roles.service.ts";

/** Where Ranger admin mounts `RoleREST` itself (`/service` + `@Path("roles")` + `/roles`). */
export const ROLE_REST = "/service/roles/roles";
/** The public v2 mount, which `RangerAdminRESTClient` calls (`RangerRESTUtils.REST_URL_SERVICE_*_ROLE`). */
const PUBLIC_V2 = "/service/public/v2/api/roles";

const tags = ["distribution"];
const write = { ability: "directory.write", errorShape: rangerErrorShape } as const;
const read = { ability: "directory.read", errorShape: rangerErrorShape } as const;
const Text = Type.String({ maxLength: 767 });
const PluginQuery = Type.Object(
  {
    serviceName: Type.Optional(Type.String({ maxLength: 255, description: "The plugin's service (recorded)" })),
    execUser: Type.Optional(Type.String({ maxLength: 767, description: "The SQL user the plugin acts for" })),
  },
  { additionalProperties: true },
);
const CreateQuery = Type.Object(
  {
    serviceName: PluginQuery.properties.serviceName,
    createNonExistUserGroup: Type.Optional(
      Type.Boolean({ description: "Create local users and groups that do not exist instead of refusing them" }),
    ),
  },
  { additionalProperties: true },
);
const CreateBody = Type.Object(
  {
    ...RoleInput.properties,
    createdByUser: Type.Optional(Type.Union([Text, Type.Null()], { description: "The SQL user running CREATE ROLE" })),
  },
  {
    title: "PluginRangerRole",
    additionalProperties: true,
    description:
      "Ranger's `RangerRole` as a plugin sends it for `CREATE ROLE`; `createdByUser` is the SQL user, who must be an administrator. Other fields are accepted and ignored; `isAdmin: true` is refused (no role administrators).",
  },
);
const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });
const UserParams = Type.Object({ user: Type.String({ minLength: 1, maxLength: 767 }) });

/** The authorization paragraph of each route's description. */
const rule = (ability: Ability, field: string) =>
  `The caller authenticates with native credentials holding \`${ability}\` (the plugin's service account); when the request names another user (\`${field}\`), that user is the effective user and must hold \`${ability}\` through the directory too (Ranger's execUser rule; Gatehouse has no role administrators).`;

type PluginQueryT = { serviceName?: string; execUser?: string };

/**
 * The role calls a Ranger plugin makes when a user runs `CREATE ROLE`, `DROP ROLE`, `SHOW ROLES`,
 * `SHOW CURRENT ROLES`, `GRANT ROLE` and `REVOKE ROLE` (RangerAdminRESTClient), served at
 * `RoleREST`'s own mount (`/service/roles/roles/...`) and at the plugin's trailing-slash forms of
 * the public v2 paths that the v2 routes do not match (`POST .../roles/`, `GET .../roles/names/`).
 * Each maps onto the Ranger v2 role mapping (role-writes.routes.ts, role-members.ts) and so onto
 * the directory's roles, bindings and composites; writes are one transaction each and catch this
 * process's engines up before answering, so the next decision sees the change.
 */
export function pluginRoleRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const url of [ROLE_REST, `${PUBLIC_V2}/`]) {
      app.post(
        url,
        {
          config: write,
          schema: {
            tags,
            summary: "Create a role (Ranger plugin CREATE ROLE)",
            description: `${rule("directory.write", "body.createdByUser")} Users and groups must exist unless \`createNonExistUserGroup=true\`; member roles must exist. A taken name is 409.`,
            querystring: CreateQuery,
            body: CreateBody,
            response: { 200: RangerRole },
          },
        },
        async (request) => {
          const body = request.body as RoleInputT & { createdByUser?: string | null };
          const ctx = auditContextOf(request);
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          await assertEffectiveAdmin(
            db.kysely,
            request.actor,
            orgId,
            { name: body.createdByUser, field: "body.createdByUser" },
            "directory.write",
            "create a role",
          );
          refuseMacroUsers(
            (body.users ?? []).map((u) => u.name),
            "body.users",
          );
          const created = await db.transaction(async (tx) => {
            const desired = desiredOf(body);
            const view = await createRole(tx, ctx, { orgId, name: body.name, description: body.description ?? "" });
            const role = await getRoleRow(tx, view.id);
            await setRoleMembers(tx, ctx, orgId, role, desired, request.query.createNonExistUserGroup === true);
            return presentRole(tx, role);
          });
          await app.decisions.afterLocalWrite();
          return created as never;
        },
      );
    }

    app.delete(
      `${ROLE_REST}/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Drop a role (Ranger plugin DROP ROLE)",
          description: `${rule("directory.write", "query.execUser")} The role's bindings and composite links go with it; built-in roles cannot be dropped.`,
          params: NameParams,
          querystring: PluginQuery,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const query = request.query as PluginQueryT;
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        await assertEffectiveAdmin(
          db.kysely,
          request.actor,
          orgId,
          { name: query.execUser, field: "query.execUser" },
          "directory.write",
          "drop a role",
        );
        await db.transaction(async (tx) => {
          const role = await roleByName(tx, orgId, request.params.name, "path.name");
          if (role.org_id) assertSameOrg(request.actor, role.org_id);
          await deleteRole(tx, auditContextOf(request), role.id);
        });
        await app.decisions.afterLocalWrite();
        return reply.code(204).send(null);
      },
    );

    for (const url of [`${ROLE_REST}/names`, `${PUBLIC_V2}/names/`]) {
      app.get(
        url,
        {
          config: read,
          schema: {
            tags,
            summary: "Role names (Ranger plugin SHOW ROLES)",
            description: `${rule("directory.read", "query.execUser")} The organisation's roles and the built-in ones, in creation order.`,
            querystring: PluginQuery,
            response: { 200: Type.Array(Type.String()) },
          },
        },
        async (request) => {
          const query = request.query as PluginQueryT;
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          await assertEffectiveAdmin(
            db.kysely,
            request.actor,
            orgId,
            { name: query.execUser, field: "query.execUser" },
            "directory.read",
            "list roles",
          );
          const rows = await db.kysely
            .selectFrom("roles")
            .where((eb) => eb.or([eb("org_id", "=", orgId), eb("org_id", "is", null)]))
            .select("name")
            .orderBy("num")
            .execute();
          return rows.map((r) => r.name) as never;
        },
      );
    }

    app.get(
      `${ROLE_REST}/name/:name`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a role by name (Ranger plugin SHOW ROLE GRANT / SHOW PRINCIPALS)",
          description: `${rule("directory.read", "query.execUser")} The role in Ranger's form, as plugins download it.`,
          params: NameParams,
          querystring: PluginQuery,
          response: { 200: RangerRole },
        },
      },
      async (request) => {
        const query = request.query as PluginQueryT;
        const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
        await assertEffectiveAdmin(
          db.kysely,
          request.actor,
          orgId,
          { name: query.execUser, field: "query.execUser" },
          "directory.read",
          "read a role",
        );
        const role = await roleByName(db.kysely, orgId, request.params.name, "path.name");
        const found = (await exportRangerRoles(db.kysely, "")).rangerRoles?.find((r) => r.id === role.num);
        if (!found) throw RoleNotFound(`role \`${request.params.name}\` not found`);
        return found as never;
      },
    );

    app.get(
      `${ROLE_REST}/user/:user`,
      {
        config: read,
        schema: {
          tags,
          summary: "Roles of a user (Ranger plugin SHOW CURRENT ROLES)",
          description:
            "The roles the user holds directly, through its groups, or through member roles, sorted. Ranger applies no execUser rule here; the caller needs `directory.read`. An unknown user is 404.",
          params: UserParams,
          response: { 200: Type.Array(Type.String()) },
        },
      },
      async (request) => {
        const principal = await app.decisions.principals.byUsername(request.params.user);
        if (!principal) throw UserNotFound(`user \`${request.params.user}\` not found`);
        return [...principal.roles].sort() as never;
      },
    );

    for (const kind of ["grant", "revoke"] as const) {
      app.put(
        `${ROLE_REST}/${kind}/:serviceName`,
        {
          config: write,
          schema: {
            tags,
            summary:
              kind === "grant" ? "Grant roles (Ranger plugin GRANT ROLE)" : "Revoke roles (Ranger plugin REVOKE ROLE)",
            description: `${rule("directory.write", "body.grantor")} ${
              kind === "grant"
                ? "`users`, `groups` and `roles` gain every target role (already held: unchanged); `grantOption: true` (WITH ADMIN OPTION) is refused."
                : "`users`, `groups` and `roles` lose every target role (not held: ignored); `grantOption: true` (ADMIN OPTION FOR) changes nothing, as nobody holds the admin option."
            } At least one user, group or role; unknown ones are 404 naming the field. The path's service is recorded in the \`role.${kind === "grant" ? "granted" : "revoked"}\` audit event.`,
            params: ServiceNameParams,
            body: GrantRevokeRoleRequest,
            response: { 200: RestResponse },
          },
        },
        async (request) => {
          const body = request.body as GrantRevokeRoleBody;
          const ctx = auditContextOf(request);
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          const grantor = await assertEffectiveAdmin(
            db.kysely,
            request.actor,
            orgId,
            { name: body.grantor, field: "body.grantor" },
            "directory.write",
            `${kind} a role`,
          );
          await db.transaction((tx) =>
            grantRevokeRoles(tx, ctx, orgId, kind, body, request.params.serviceName, grantor),
          );
          await app.decisions.afterLocalWrite();
          return { httpStatusCode: 200, statusCode: 0, messageList: [] };
        },
      );
    }
  };
}
