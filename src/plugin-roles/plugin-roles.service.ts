import { sql } from "kysely";
import type { AuditContext } from "../audit/audit.service.ts";
import { recordAudit } from "../audit/audit.service.ts";
import type { Ability } from "../auth/abilities.ts";
import type { Actor } from "../auth/actor.ts";
import { builtinRolesOf } from "../auth/credentials.store.ts";
import {
  changeMembers,
  desiredOf,
  namedStrings,
  presentRole,
  refuseRoleAdmin,
  roleByName,
  setRoleMembers,
} from "../compat/ranger/role-members.ts";
import { createRole, getRoleRow, updateRole } from "../directory/roles.service.ts";
import { Forbidden, fieldError, ValidationFailed } from "../errors.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { RoleRow } from "../storage/schema.ts";
import type { RoleInputT } from "./role-rest.schemas.ts";

/** A user name the request asserts (`execUser`, `createdByUser`, `grantor`) and the field it came in. */
export interface AssertedUser {
  name: string | null | undefined;
  field: string;
}

/** Ranger's `GrantRevokeRoleRequest`, the fields Gatehouse reads (the rest is recorded or ignored). */
export interface GrantRevokeRoleBody {
  targetRoles: string[];
  users?: string[] | null;
  groups?: string[] | null;
  roles?: string[] | null;
  grantOption?: boolean | null;
  grantor?: string | null;
  grantorGroups?: string[] | null;
  clientIPAddress?: string | null;
  clientType?: string | null;
  clusterName?: string | null;
}

// Ranger's RoleREST.INVALID_USERS: the policy macros for the current user and the resource owner.
const MACRO_USERS = new Set(["{USER}", "{OWNER}"]);

/**
 * Ranger's rule for who a plugin call acts as (`RoleREST#ensureAdminAccess`, `#getRoleIfAccessible`):
 * when the request names a user other than the caller (`execUser`, the role's `createdByUser`, the
 * grant's `grantor`), that user is the effective user and must be an administrator too; the caller
 * may speak for it because it already holds `ability` (Ranger: a Ranger admin or the service's own
 * user). Gatehouse's administrator is a directory user whose built-in roles (direct, through groups
 * or composites) grant `ability`. A name equal to the caller's, or none, leaves the caller as the
 * effective user for a native caller; a Kerberos plugin, which holds no ability of its own, acts
 * for its own short name then, which must be an administrator too. Gatehouse has no role
 * administrators, so a user who is not an administrator is refused even where Ranger would admit a
 * role's admin member.
 *
 * @returns the effective user's name.
 * @throws FORBIDDEN naming the field when the effective user is unknown, disabled or lacks `ability`.
 */
export async function assertEffectiveAdmin(
  db: Queryable,
  actor: Actor,
  orgId: string,
  asserted: AssertedUser,
  ability: Ability,
  operation: string,
): Promise<string> {
  const asked = asserted.name?.trim();
  // A native caller holds `ability` itself and may act as itself. A Kerberos plugin only proved its
  // principal (its route lent it the ability), so, as Ranger requires of a service user, the user it
  // acts for (the one named, else its own short name) must be an administrator.
  if (actor.type !== "kerberos" && (!asked || asked === actor.name)) return actor.name;
  const name = asked || actor.name;
  const user = await db
    .selectFrom("users")
    .where("org_id", "=", orgId)
    .where("status", "=", "active")
    .where(sql<boolean>`lower(username) = lower(${name})`)
    .select("id")
    .executeTakeFirst();
  const permissions = user ? (await builtinRolesOf(db, "user", user.id)).flatMap((r) => r.permissions) : [];
  if (permissions.includes("*") || permissions.includes(ability)) return name;
  const why = user
    ? `it holds no built-in role granting \`${ability}\``
    : "no active user of that name exists in the organisation";
  throw fieldError(
    Forbidden,
    asserted.field,
    "effectiveUserIsAdmin",
    `user \`${name}\` does not have permission to ${operation}: ${why}`,
  );
}

/** Refuses Ranger's policy macros as role members (`Invalid role user(s)` in Ranger). */
export function refuseMacroUsers(names: readonly string[], field: string): void {
  for (const [i, name] of names.entries()) {
    if (MACRO_USERS.has(name)) {
      throw fieldError(
        ValidationFailed,
        `${field}[${i}]`,
        "notMacro",
        `\`${name}\` is a policy macro, not a user; it cannot hold a role`,
      );
    }
  }
}

/**
 * Applies a plugin's `GRANT ROLE`/`REVOKE ROLE` in the caller's transaction, as Ranger's
 * `RoleREST#grantRole`/`#revokeRole` do: every target role gains (or loses) the users, groups and
 * member roles through the Ranger v2 role mapping (`changeMembers`: organisation-scope bindings and
 * composites, each written by the native services with their own audit events), then one
 * `role.granted`/`role.revoked` event records the grantor and what was asked. Granting a role to
 * someone who holds it, or revoking it from someone who does not, changes nothing. `grantOption`
 * (WITH ADMIN OPTION) is refused on grant; on revoke it only drops the admin option, which nobody
 * holds here, so nothing changes.
 */
export async function grantRevokeRoles(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  kind: "grant" | "revoke",
  body: GrantRevokeRoleBody,
  serviceName: string,
  grantor: string,
): Promise<void> {
  const users = body.users ?? [];
  const groups = body.groups ?? [];
  const roles = body.roles ?? [];
  if (users.length + groups.length + roles.length === 0) {
    throw fieldError(
      ValidationFailed,
      "body.users",
      "principalRequired",
      `a role ${kind} names at least one user, group or role (Ranger: grantee users/groups/roles list is empty)`,
    );
  }
  if (kind === "grant" && body.grantOption === true) refuseRoleAdmin("body.grantOption");
  refuseMacroUsers(users, "body.users");
  const change = {
    users: namedStrings(users, "body.users"),
    groups: namedStrings(groups, "body.groups"),
    roles: namedStrings(roles, "body.roles"),
  };
  const adminOptionOnly = kind === "revoke" && body.grantOption === true;
  for (const [i, name] of body.targetRoles.entries()) {
    const role = await roleByName(tx, orgId, name, `body.targetRoles[${i}]`);
    if (!adminOptionOnly) await changeMembers(tx, ctx, role.org_id ?? orgId, role, change, kind === "grant");
  }
  await recordAudit(tx, ctx, {
    action: kind === "grant" ? "role.granted" : "role.revoked",
    targetType: "role",
    targetId: null,
    orgId,
    after: {
      service: serviceName,
      grantor,
      targetRoles: body.targetRoles,
      users,
      groups,
      roles,
      grantOption: body.grantOption === true,
      clientIPAddress: body.clientIPAddress ?? null,
      clientType: body.clientType ?? null,
    },
  });
}

/**
 * Ranger's `createRole`: a new role of the organisation with the body's members (users and groups
 * as organisation-scope bindings, member roles as composites), created when missing with
 * `createMissing` (Ranger's `createNonExistUserGroup`). Policy macros are refused as members.
 */
export async function createRangerRole(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RoleInputT,
  createMissing: boolean,
) {
  refuseMacroUsers(
    (body.users ?? []).map((u) => u.name),
    "body.users",
  );
  const desired = desiredOf(body);
  const view = await createRole(tx, ctx, { orgId, name: body.name, description: body.description ?? "" });
  const role = await getRoleRow(tx, view.id);
  await setRoleMembers(tx, ctx, orgId, role, desired, createMissing);
  return presentRole(tx, role, orgId);
}

/**
 * Ranger's `updateRole`: the body replaces the role's name, description and member lists (an
 * absent list is empty, as in Ranger); a body `id` other than the role's is refused. Built-in roles
 * keep their name and description (the native service refuses a change); their members may change.
 */
export async function replaceRangerRole(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  role: RoleRow,
  body: RoleInputT,
  createMissing: boolean,
) {
  if (body.id !== undefined && body.id !== null && body.id !== role.num) {
    throw fieldError(
      ValidationFailed,
      "body.id",
      "idMatchesPath",
      `${body.id} does not match the role being updated (${role.num})`,
    );
  }
  refuseMacroUsers(
    (body.users ?? []).map((u) => u.name),
    "body.users",
  );
  const desired = desiredOf(body);
  const description = body.description ?? "";
  if (body.name !== role.name || description !== role.description) {
    await updateRole(tx, ctx, role.id, { name: body.name, description });
  }
  await setRoleMembers(tx, ctx, role.org_id ?? orgId, role, desired, createMissing);
  return presentRole(tx, await getRoleRow(tx, role.id), orgId);
}
