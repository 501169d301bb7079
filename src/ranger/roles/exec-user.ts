import { sql } from "kysely";
import { type Ability, can } from "../../auth/abilities.ts";
import type { Actor } from "../../auth/actor.ts";
import { builtinRolesOf } from "../../auth/credentials.store.ts";
import { Forbidden, fieldError } from "../../errors.ts";
import type { Queryable } from "../../storage/db.ts";
import type { RoleRow } from "../../storage/schema.ts";
import { administersRole } from "./role-admins.ts";

/** The login of Ranger's built-in administrator (`admin`, created by Ranger's installer). */
export const RANGER_BUILTIN_ADMIN = "admin";

/** A user name the request asserts (`execUser`, `createdByUser`, `grantor`) and the field it came in. */
export interface AssertedUser {
  name: string | null | undefined;
  field: string;
}

/** Who a role call acts for, and what the directory says of them. */
export interface EffectiveUser {
  name: string;
  /** The field that named the user, so a refusal can point at it. */
  field: string;
  /** The directory user's id; null for the native caller acting as itself, or a name no active user has. */
  id: string | null;
  /** Holds the ability the call needs (a Ranger admin, in Ranger's terms). */
  isAdmin: boolean;
  /** Why the user is no administrator, for the refusal's message. */
  why: string;
}

/**
 * Ranger's rule for who a plugin call acts as (`RoleREST#ensureAdminAccess`, `#getRoleIfAccessible`):
 * when the request names a user other than the caller (`execUser`, the role's `createdByUser`, the
 * grant's `grantor`), that user is the effective user; the caller may speak for it because it
 * already holds `ability` (Ranger: a Ranger admin or the service's own user). Gatehouse's
 * administrator is a directory user whose built-in roles (direct, through groups or composites)
 * grant `ability`. A name equal to the caller's, or none, leaves a native caller as the effective
 * user, an administrator by its credentials; a Kerberos plugin, which holds no ability of its own,
 * acts for its own short name then, which must be an administrator by the directory too. The name
 * `admin` (Ranger's built-in administrator), when no directory user has it, is an administrator
 * for a native caller that holds `ability`: what Ranger answers an administrator naming it.
 */
export async function effectiveUser(
  db: Queryable,
  actor: Actor,
  orgId: string,
  asserted: AssertedUser,
  ability: Ability,
): Promise<EffectiveUser> {
  const asked = asserted.name?.trim();
  // A native caller holds `ability` itself and may act as itself. A Kerberos plugin only proved its
  // principal (its route lent it the ability), so, as Ranger requires of a service user, the user it
  // acts for (the one named, else its own short name) is judged by the directory.
  if (actor.type !== "kerberos" && (!asked || asked === actor.name)) {
    return { name: actor.name, field: asserted.field, id: null, isAdmin: true, why: "" };
  }
  const name = asked || actor.name;
  const user = await db
    .selectFrom("users")
    .where("org_id", "=", orgId)
    .where("status", "=", "active")
    .where(sql<boolean>`lower(username) = lower(${name})`)
    .select("id")
    .executeTakeFirst();
  if (!user) {
    // Ranger's built-in administrator, which Ranger's own examples name as execUser. Ranger lets
    // an administrator act for it (it is an administrator there); here it exists only while no
    // directory user takes the name, and only a caller holding `ability` itself may name it.
    if (name.toLowerCase() === RANGER_BUILTIN_ADMIN && actor.type !== "kerberos" && can(actor, ability)) {
      return { name, field: asserted.field, id: null, isAdmin: true, why: "" };
    }
    const why = "no active user of that name exists in the organisation";
    return { name, field: asserted.field, id: null, isAdmin: false, why };
  }
  const permissions = (await builtinRolesOf(db, "user", user.id)).flatMap((r) => r.permissions);
  const isAdmin = permissions.includes("*") || permissions.includes(ability);
  return {
    name,
    field: asserted.field,
    id: user.id,
    isAdmin,
    why: `it holds no built-in role granting \`${ability}\``,
  };
}

function refuse(who: EffectiveUser, operation: string, why: string): never {
  throw fieldError(
    Forbidden,
    who.field,
    "effectiveUserIsAdmin",
    `user \`${who.name}\` does not have permission to ${operation}: ${why}`,
  );
}

/**
 * The effective user (`effectiveUser`), who must hold `ability`: Ranger's `ensureAdminAccess`, for
 * the calls only an administrator makes (create, drop, list role names).
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
  const who = await effectiveUser(db, actor, orgId, asserted, ability);
  if (!who.isAdmin) refuse(who, operation, who.why);
  return who.name;
}

/**
 * Ranger's `getRoleIfAccessible` for one role (grant, revoke, role details): the effective user
 * holds the call's ability, or administers the role (`administersRole`: an admin member, in an
 * admin group, or in an admin member role), even without any ability of its own.
 *
 * @throws FORBIDDEN naming the field that named the user, with rule `effectiveUserIsAdmin`.
 */
export async function assertAdministersRole(
  db: Queryable,
  who: EffectiveUser,
  role: RoleRow,
  operation: string,
): Promise<void> {
  if (who.isAdmin) return;
  if (who.id !== null && (await administersRole(db, who.id, role.id))) return;
  const why = who.id === null ? who.why : `${who.why}, and it is no administrator of role \`${role.name}\``;
  refuse(who, operation, why);
}
