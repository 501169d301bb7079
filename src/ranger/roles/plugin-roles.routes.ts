import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyContextConfig, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Ability } from "../../auth/abilities.ts";
import type { KerberosAcceptor } from "../../auth/kerberos.ts";
import { acceptEmptyJsonBody } from "../../compat/shared/empty-json-body.ts";
import { assertSameOrg, resolveOrgId } from "../../directory/org-scope.ts";
import { deleteRole } from "../../directory/roles.service.ts";
import { RoleNotFound, UserNotFound } from "../../errors.ts";
import type { Db, Tx } from "../../storage/db.ts";
import type { RoleRow } from "../../storage/schema.ts";
import { rangerErrorShape } from "../admin/errors.ts";
import { IdParams, NameParams } from "../admin/params.ts";
import { RANGER_V2 } from "../admin/policies.routes.ts";
import {
  changeMembers,
  type MemberChange,
  namedStrings,
  presentRole,
  presentRoles,
  roleByName,
  roleByNum,
} from "../admin/role-members.ts";
import { roleFilterOf } from "../admin/search-filter.ts";
import { assertServicePluginAllowed, securePluginConfig } from "../plugin-download/plugin-auth.ts";
import { type AssertedUser, assertAdministersRole, assertEffectiveAdmin, effectiveUser } from "./exec-user.ts";
import { assertRoleReaderPlugin } from "./kerberos-readers.ts";
import {
  createRangerRole,
  type GrantRevokeRoleBody,
  grantRevokeRoles,
  refuseMacroUsers,
  replaceRangerRole,
} from "./plugin-roles.service.ts";
import {
  GrantRevokeRoleRequest,
  PluginQuery,
  RangerRole,
  RestResponse,
  RoleInput,
  type RoleInputT,
  ServiceNameParams,
  UserParams,
  UsersAndGroups,
  WriteQuery,
} from "./role-rest.schemas.ts";

/** Where Ranger admin mounts `RoleREST` itself (`/service` + `@Path("roles")` + `/roles`). */
export const ROLE_REST = "/service/roles/roles";
/** The public v2 mount (`PublicAPIsv2`, which delegates to `RoleREST`); `RangerAdminRESTClient` calls it. */
export const PUBLIC_V2_ROLES = `${RANGER_V2}/roles`;

type PluginQueryT = { serviceName?: string; execUser?: string };
type WriteQueryT = { serviceName?: string; createNonExistUserGroup?: boolean };

/** The authorization paragraph of a route that applies Ranger's execUser rule. */
const execUserRule = (ability: Ability, field: string, service = "named by `serviceName`", roleAdmin = false) =>
  `The caller needs \`${ability}\` (the plugin's service account), or, when Kerberos is configured, SPNEGO as a principal in the \`policy.grantrevoke.auth.users\` of the service ${service}. When the request names another user (\`${field}\`), that user is the effective user and must hold \`${ability}\` through the directory too${roleAdmin ? ", or administer the role (a user member with `isAdmin`, in a group member with `isAdmin`, or bound to a member role with `isAdmin`)" : ""} (Ranger's execUser rule).`;
/** The authorization paragraph of a route Ranger keeps to its administrators (`ensureAdminAccess(null, null)`). */
const adminRule = (ability: Ability) =>
  `The caller needs \`${ability}\` with native credentials; Ranger keeps this call to its administrators, so it takes no \`execUser\` and no Kerberos plugin principal.`;

/**
 * Ranger's role API (`RoleREST`), served once and registered at both of Ranger's mounts: RoleREST's
 * own (`/service/roles/roles/...`) and the public v2 one (`/service/public/v2/api/roles/...`), to
 * which `PublicAPIsv2` delegates, so both behave the same, as in Ranger. The plugins' trailing-slash
 * forms (`POST .../roles/`, `GET .../roles/names/`) are served too.
 *
 * The calls a plugin makes for SQL (`CREATE ROLE`, `DROP ROLE`, `SHOW ROLES`, `SHOW CURRENT ROLES`,
 * `SHOW ROLE GRANT`, `GRANT ROLE`, `REVOKE ROLE`) accept SPNEGO when Kerberos is configured, with
 * Ranger's rule for a Kerberos plugin (`policy.grantrevoke.auth.users` of the named service), and
 * apply Ranger's execUser rule where `RoleREST` does (`ensureAdminAccess`, `getRoleIfAccessible`).
 * The rest (replace, delete by id, member changes, list, get by id) stay with native credentials.
 *
 * Roles map onto the directory (role-members.ts): users and groups are organisation-scope role
 * bindings, member roles are composites. Each write is one transaction through the native services
 * (validation, escalation guards, audit) and catches this process's engines up before answering.
 */
export function pluginRoleRoutes(
  db: Db,
  options: { kerberos: KerberosAcceptor | null } = { kerberos: null },
): FastifyPluginAsyncTypebox {
  const errorShape = rangerErrorShape;
  const pluginWrite: FastifyContextConfig = {
    ...securePluginConfig(options.kerberos, "directory.write"),
    errorShape,
  };
  const pluginRead: FastifyContextConfig = { ...securePluginConfig(options.kerberos, "directory.read"), errorShape };
  const adminWrite: FastifyContextConfig = { ability: "directory.write", errorShape };
  const adminRead: FastifyContextConfig = { ability: "directory.read", errorShape };

  return async (app) => {
    // Ranger's client sends `Content-Type: application/json` on every call, deletes included.
    acceptEmptyJsonBody(app);
    /** The caller's organisation, once a Kerberos caller is found listed by the service it names. */
    const callerOrg = async (request: FastifyRequest, service: { name: string | undefined; field: string }) => {
      await assertServicePluginAllowed(db.kysely, request.actor, service.name, service.field, [
        "policy.grantrevoke.auth.users",
      ]);
      return resolveOrgId(db.kysely, request.actor, undefined);
    };
    /**
     * Who a plugin call only an administrator makes acts for: a Kerberos caller must be listed by
     * the service it names (the service parameter and its field), then Ranger's execUser rule names
     * the effective user, who must hold `ability`.
     */
    const actingFor = async (
      request: FastifyRequest,
      service: { name: string | undefined; field: string },
      asserted: AssertedUser,
      ability: Ability,
      operation: string,
    ) => {
      const orgId = await callerOrg(request, service);
      const user = await assertEffectiveAdmin(db.kysely, request.actor, orgId, asserted, ability, operation);
      return { orgId, user };
    };
    /** `actingFor` a call naming its service and SQL user in the query (`serviceName`, `execUser`). */
    const actingForExecUser = (request: FastifyRequest, ability: Ability, operation: string) => {
      const query = request.query as PluginQueryT;
      return actingFor(
        request,
        { name: query.serviceName, field: "query.serviceName" },
        { name: query.execUser, field: "query.execUser" },
        ability,
        operation,
      );
    };
    /** The role Ranger numbers `num`, refused (403) when another organisation's than the caller's. */
    const writableRole = async (request: FastifyRequest, num: number): Promise<RoleRow> => {
      const role = await roleByNum(db.kysely, num);
      if (role.org_id) assertSameOrg(request.actor, role.org_id);
      return role;
    };
    /** The roles the caller's organisation reads (its own and the built-in ones, with its members). */
    const rangerRoles = async (request: FastifyRequest) =>
      presentRoles(db.kysely, await resolveOrgId(db.kysely, request.actor, undefined));
    /** One write transaction, then this process's engines catch up, so the next decision sees it. */
    const write = async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
      const done = await db.transaction(work);
      await app.decisions.afterLocalWrite();
      return done;
    };

    for (const prefix of [ROLE_REST, PUBLIC_V2_ROLES]) {
      const tags = prefix === ROLE_REST ? ["distribution"] : ["ranger-public-api"];

      for (const url of [prefix, `${prefix}/`]) {
        app.post(
          url,
          {
            config: pluginWrite,
            schema: {
              tags,
              summary: "Create a role (Ranger createRole; plugin CREATE ROLE)",
              description: `${execUserRule("directory.write", "body.createdByUser")} Users and groups must exist unless \`createNonExistUserGroup=true\`; member roles must exist. A taken name is 409.`,
              querystring: WriteQuery,
              body: RoleInput,
              response: { 200: RangerRole },
            },
          },
          async (request) => {
            const body = request.body as RoleInputT;
            const query = request.query as WriteQueryT;
            const { orgId } = await actingFor(
              request,
              { name: query.serviceName, field: "query.serviceName" },
              { name: body.createdByUser, field: "body.createdByUser" },
              "directory.write",
              "create a role",
            );
            return (await write((tx) =>
              createRangerRole(tx, auditContextOf(request), orgId, body, query.createNonExistUserGroup === true),
            )) as never;
          },
        );
      }

      app.put(
        `${prefix}/:id`,
        {
          config: adminWrite,
          schema: {
            tags,
            summary: "Replace a role (Ranger updateRole)",
            description: `${adminRule("directory.write")} The body replaces the role's name, description and member lists (an absent list is empty, as in Ranger). A body \`id\` other than the path's is a 400. Built-in roles keep their name and description; their members may change.`,
            params: IdParams,
            querystring: WriteQuery,
            body: RoleInput,
            response: { 200: RangerRole },
          },
        },
        async (request) => {
          const query = request.query as WriteQueryT;
          const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
          const role = await writableRole(request, request.params.id);
          const body = request.body as RoleInputT;
          const createMissing = query.createNonExistUserGroup === true;
          return (await write((tx) =>
            replaceRangerRole(tx, auditContextOf(request), orgId, role, body, createMissing),
          )) as never;
        },
      );

      app.delete(
        `${prefix}/:id`,
        {
          config: adminWrite,
          schema: {
            tags,
            summary: "Delete a role (Ranger deleteRole by id)",
            description: `${adminRule("directory.write")} The role's bindings and composite links go with it; built-in roles cannot be deleted. A role that policies name is refused (409 listing them), as Ranger refuses it.`,
            params: IdParams,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const role = await writableRole(request, request.params.id);
          await write((tx) => deleteRole(tx, auditContextOf(request), role.id));
          return reply.code(204).send(null);
        },
      );

      app.delete(
        `${prefix}/name/:name`,
        {
          config: pluginWrite,
          schema: {
            tags,
            summary: "Delete a role by name (Ranger deleteRole; plugin DROP ROLE)",
            description: `${execUserRule("directory.write", "query.execUser")} The role's bindings and composite links go with it; built-in roles cannot be dropped. A role that policies name is refused (409 listing them), as Ranger refuses it.`,
            params: NameParams,
            querystring: PluginQuery,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const { orgId } = await actingForExecUser(request, "directory.write", "drop a role");
          await write(async (tx) => {
            const role = await roleByName(tx, orgId, request.params.name, "path.name");
            if (role.org_id) assertSameOrg(request.actor, role.org_id);
            await deleteRole(tx, auditContextOf(request), role.id);
          });
          return reply.code(204).send(null);
        },
      );

      app.get(
        prefix,
        {
          config: adminRead,
          schema: {
            tags,
            summary: "List roles (Ranger getAllRoles)",
            description: `${adminRule("directory.read")} The organisation's roles and the built-in ones, each with the members bound in the organisation (what the caller may write back unchanged); the plugins' download shows every organisation's members. SearchFilter parameters: \`roleName\` (exact), \`roleNamePartial\` (contains, any case), \`roleId\`.`,
            querystring: Type.Object({}, { additionalProperties: true }),
            response: { 200: Type.Array(RangerRole) },
          },
        },
        async (request) =>
          (await rangerRoles(request)).filter(roleFilterOf(request.query as Record<string, unknown>)) as never,
      );

      for (const url of [`${prefix}/names`, `${prefix}/names/`]) {
        app.get(
          url,
          {
            config: pluginRead,
            schema: {
              tags,
              summary: "Role names (Ranger getAllRoleNames; plugin SHOW ROLES)",
              description: `${execUserRule("directory.read", "query.execUser")} The organisation's roles and the built-in ones, in creation order.`,
              querystring: PluginQuery,
              response: { 200: Type.Array(Type.String()) },
            },
          },
          async (request) => {
            const { orgId } = await actingForExecUser(request, "directory.read", "list roles");
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
        `${prefix}/name/:name`,
        {
          config: pluginRead,
          schema: {
            tags,
            summary: "Get a role by name (Ranger getRole; plugin SHOW ROLE GRANT / SHOW PRINCIPALS)",
            description: `${execUserRule("directory.read", "query.execUser", undefined, true)} The organisation's (or a built-in) role, named without regard to case, as plugins download it.`,
            params: NameParams,
            querystring: PluginQuery,
            response: { 200: RangerRole },
          },
        },
        async (request) => {
          const query = request.query as PluginQueryT;
          const orgId = await callerOrg(request, { name: query.serviceName, field: "query.serviceName" });
          const asserted = { name: query.execUser, field: "query.execUser" };
          const who = await effectiveUser(db.kysely, request.actor, orgId, asserted, "directory.read");
          const role = await roleByName(db.kysely, orgId, request.params.name, "path.name");
          await assertAdministersRole(db.kysely, who, role, `read role \`${role.name}\``);
          return (await presentRole(db.kysely, role, orgId)) as never;
        },
      );

      app.get(
        `${prefix}/:id`,
        {
          config: adminRead,
          schema: {
            tags,
            summary: "Get a role by id (Ranger getRole by id)",
            description: "The caller needs `directory.read`; Ranger applies no execUser rule here.",
            params: IdParams,
            response: { 200: RangerRole },
          },
        },
        async (request) => {
          const role = (await rangerRoles(request)).find((r) => r.id === request.params.id);
          if (!role) throw RoleNotFound(`role ${request.params.id} not found`);
          return role as never;
        },
      );

      app.get(
        `${prefix}/user/:user`,
        {
          config: pluginRead,
          schema: {
            tags,
            summary: "Roles of a user (Ranger getUserRoles; plugin SHOW CURRENT ROLES)",
            description:
              "The roles the user holds directly, through its groups, or through member roles, sorted. Ranger applies no execUser rule here and needs no service: the caller needs `directory.read`, or, with Kerberos, SPNEGO as a principal in the `policy.download.auth.users` or `policy.grantrevoke.auth.users` of the service named by `serviceName`, or, when none is named (a stock plugin's SHOW CURRENT ROLES names none), of any service. An unknown user is 404.",
            params: UserParams,
            querystring: PluginQuery,
            response: { 200: Type.Array(Type.String()) },
          },
        },
        async (request) => {
          const query = request.query as PluginQueryT;
          await assertRoleReaderPlugin(db.kysely, request.actor, query.serviceName, "query.serviceName");
          const principal = await app.decisions.principals.byUsername(request.params.user);
          if (!principal) throw UserNotFound(`user \`${request.params.user}\` not found`);
          return [...principal.roles].sort() as never;
        },
      );

      const membership = (
        path: string,
        summary: string,
        description: string,
        change: (isAdmin: boolean) => MemberChange,
      ) =>
        app.put(
          `${prefix}/:id/${path}`,
          {
            config: adminWrite,
            schema: {
              tags,
              summary,
              description: `${adminRule("directory.write")} ${description}`,
              params: IdParams,
              body: UsersAndGroups,
              response: { 200: RangerRole },
            },
          },
          async (request) => {
            const body = request.body;
            const how = change(body.isAdmin === true);
            if (how.kind === "add") refuseMacroUsers(body.users ?? [], "body.users");
            const ctx = auditContextOf(request);
            const orgId = await resolveOrgId(db.kysely, request.actor, undefined);
            const role = await writableRole(request, request.params.id);
            const users = namedStrings(body.users ?? [], "body.users");
            const groups = namedStrings(body.groups ?? [], "body.groups");
            return (await write(async (tx) => {
              await changeMembers(tx, ctx, role.org_id ?? orgId, role, { users, groups, roles: [] }, how);
              return presentRole(tx, role, orgId);
            })) as never;
          },
        );
      membership(
        "addUsersAndGroups",
        "Add users and groups to a role (Ranger addUsersAndGroups)",
        "Body `{users, groups, isAdmin}`; members already there stay. `isAdmin: true` makes the named users and groups administrators of the role (new or already members); without it, new ones are plain members and members already there keep their flag.",
        (isAdmin) => ({ kind: "add", isAdmin: isAdmin ? true : undefined }),
      );
      membership(
        "removeUsersAndGroups",
        "Remove users and groups from a role (Ranger removeUsersAndGroups)",
        "Body `{users, groups}`; names that are not members are ignored.",
        () => ({ kind: "remove" }),
      );
      membership(
        "removeAdminFromUsersAndGroups",
        "Remove the admin option of users and groups of a role (Ranger removeAdminFromUsersAndGroups)",
        "Body `{users, groups}`; the named members stay members but no longer administer the role; names that are not members are ignored.",
        () => ({ kind: "removeAdmin" }),
      );

      for (const kind of ["grant", "revoke"] as const) {
        app.put(
          `${prefix}/${kind}/:serviceName`,
          {
            config: pluginWrite,
            schema: {
              tags,
              summary:
                kind === "grant"
                  ? "Grant roles (Ranger grantRole; plugin GRANT ROLE)"
                  : "Revoke roles (Ranger revokeRole; plugin REVOKE ROLE)",
              description: `${execUserRule("directory.write", "body.grantor", "in the path", true)} ${
                kind === "grant"
                  ? "`users`, `groups` and `roles` gain every target role; `grantOption: true` (WITH ADMIN OPTION) makes them its administrators, and a grant without it makes them plain members, including grantees already there (Ranger's add-or-update)."
                  : "`users`, `groups` and `roles` lose every target role (not held: ignored); `grantOption: true` (REVOKE ADMIN OPTION FOR) only takes their administrator flag away and leaves them members."
              } At least one user, group or role; unknown ones are 404 or 422 naming the field, and one failure (a target role the grantor does not administer included) leaves every target role unchanged. The path's service is recorded in the \`role.${kind === "grant" ? "granted" : "revoked"}\` audit event.`,
              params: ServiceNameParams,
              body: GrantRevokeRoleRequest,
              response: { 200: RestResponse },
            },
          },
          async (request) => {
            const body = request.body as GrantRevokeRoleBody;
            const orgId = await callerOrg(request, { name: request.params.serviceName, field: "path.serviceName" });
            const asserted = { name: body.grantor, field: "body.grantor" };
            const grantor = await effectiveUser(db.kysely, request.actor, orgId, asserted, "directory.write");
            await write((tx) =>
              grantRevokeRoles(tx, auditContextOf(request), orgId, kind, body, request.params.serviceName, grantor),
            );
            return { httpStatusCode: 200, statusCode: 0, messageList: [] };
          },
        );
      }
    }
  };
}
