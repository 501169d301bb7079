import type { AuditContext } from "../../audit/audit.service.ts";
import { recordAudit } from "../../audit/audit.service.ts";
import { createRole, getRoleRow, updateRole } from "../../directory/roles.service.ts";
import { fieldError, ValidationFailed } from "../../errors.ts";
import type { Tx } from "../../storage/db.ts";
import type { RoleRow } from "../../storage/schema.ts";
import {
  changeMembers,
  desiredOf,
  type MemberChange,
  namedStrings,
  presentRole,
  roleByName,
  setRoleMembers,
} from "../admin/role-members.ts";
import { assertAdministersRole, type EffectiveUser } from "./exec-user.ts";
import type { RoleInputT } from "./role-rest.schemas.ts";

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
 * `RoleREST#grantRole`/`#revokeRole` do. For each target role, the effective user (the grantor)
 * must hold `directory.write` or administer that role (`assertAdministersRole`, Ranger's
 * `getRoleIfAccessible`); then the role gains (or loses) the users, groups and member roles
 * through the Ranger v2 role mapping (`changeMembers`: organisation-scope bindings and composites,
 * each written by the native services with their own audit events), and one
 * `role.granted`/`role.revoked` event records the grantor and what was asked.
 *
 * `grantOption` is Hive's admin option: a grant with it makes the grantees administrators of the
 * role, and one without it makes them plain members, including grantees already there (Ranger's
 * add-or-update); a revoke with it (`REVOKE ADMIN OPTION FOR`) only takes the administrator flag
 * away and leaves the membership. Granting a role to someone who holds it, or revoking it from
 * someone who does not, changes nothing else.
 */
export async function grantRevokeRoles(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  kind: "grant" | "revoke",
  body: GrantRevokeRoleBody,
  serviceName: string,
  grantor: EffectiveUser,
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
  refuseMacroUsers(users, "body.users");
  const named = {
    users: namedStrings(users, "body.users"),
    groups: namedStrings(groups, "body.groups"),
    roles: namedStrings(roles, "body.roles"),
  };
  const grantOption = body.grantOption === true;
  const change: MemberChange =
    kind === "grant" ? { kind: "add", isAdmin: grantOption } : { kind: grantOption ? "removeAdmin" : "remove" };
  for (const [i, name] of body.targetRoles.entries()) {
    const role = await roleByName(tx, orgId, name, `body.targetRoles[${i}]`);
    await assertAdministersRole(tx, grantor, role, `${kind} role \`${role.name}\``);
    await changeMembers(tx, ctx, role.org_id ?? orgId, role, named, change);
  }
  await recordAudit(tx, ctx, {
    action: kind === "grant" ? "role.granted" : "role.revoked",
    targetType: "role",
    targetId: null,
    orgId,
    after: {
      service: serviceName,
      grantor: grantor.name,
      targetRoles: body.targetRoles,
      users,
      groups,
      roles,
      grantOption,
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
