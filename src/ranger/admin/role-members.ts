import type { AuditContext } from "../../audit/audit.service.ts";
import { CreateUserBody } from "../../directory/directory.schemas.ts";
import { createGroup } from "../../directory/groups.service.ts";
import { createRoleBinding, deleteRoleBinding, setRoleBindingAdmin } from "../../directory/role-bindings.service.ts";
import { compositeLinksOf, getRoleRow, updateRole } from "../../directory/roles.service.ts";
import { createUser } from "../../directory/users.service.ts";
import type { RangerRole } from "../../engine/types.ts";
import {
  AppError,
  fieldError,
  ReferenceNotFound,
  RoleBuiltinImmutable,
  RoleCompositeCycle,
  RoleNotFound,
  ValidationFailed,
} from "../../errors.ts";
import { normaliseName } from "../../http/names.ts";
import type { Queryable, Tx } from "../../storage/db.ts";
import type { RoleRow } from "../../storage/schema.ts";
import { exportRangerRoles } from "../plugin-download/ranger-roles.ts";

/** One entry of a `RangerRole`'s `users`, `groups` or `roles` list. */
export interface RangerRoleMember {
  name: string;
  isAdmin?: boolean | null | undefined;
}

/**
 * A member name with the request field it came from, so an error can point at it, and whether it
 * should administer the role (Ranger's `isAdmin`); undefined keeps a member's flag as it is (a new
 * member is then no administrator).
 */
export interface NamedMember {
  name: string;
  field: string;
  isAdmin?: boolean | undefined;
}

/** The members a Ranger role should end up with; a list left undefined is not changed. */
export interface DesiredMembers {
  users?: NamedMember[] | undefined;
  groups?: NamedMember[] | undefined;
  roles?: NamedMember[] | undefined;
}

/** A user or group holding the role through its bindings; it administers the role when any binding says so. */
interface BoundMember {
  id: string;
  name: string;
  bindingIds: string[];
  isAdmin: boolean;
}

/** The members a Ranger role has now, each by lower-cased name, with its role-administrator flag. */
export interface CurrentMembers {
  users: Map<string, BoundMember>;
  groups: Map<string, BoundMember>;
  roles: Map<string, { id: string; name: string; isAdmin: boolean }>;
}

const USERNAME = new RegExp((CreateUserBody.properties.username as { pattern?: string }).pattern ?? ".");

/** The names of a Ranger member list with their fields and their `isAdmin` (absent or null: false, as in Ranger). */
export function namedMembers(list: RangerRoleMember[] | undefined, field: string): NamedMember[] {
  return (list ?? []).map((m, i) => ({ name: m.name, field: `${field}[${i}].name`, isAdmin: m.isAdmin === true }));
}

/** Plain names (grant, revoke, addUsersAndGroups) with their fields. */
export function namedStrings(list: string[] | undefined, field: string): NamedMember[] {
  return (list ?? []).map((name, i) => ({ name, field: `${field}[${i}]` }));
}

/** The role Ranger numbers `num` (`GET /v1/roles` shows it); ROLE_NOT_FOUND (404) otherwise. */
export async function roleByNum(db: Queryable, num: number): Promise<RoleRow> {
  const row = await db.selectFrom("roles").where("num", "=", num).selectAll().executeTakeFirst();
  if (!row) throw RoleNotFound(`role ${num} not found`);
  return row;
}

/**
 * The role named `name` (ignoring case, as role names are unique that way) among the
 * organisation's roles and the built-in ones; ROLE_NOT_FOUND (404) naming `field` otherwise.
 */
export async function roleByName(db: Queryable, orgId: string, name: string, field: string): Promise<RoleRow> {
  const row = await db
    .selectFrom("roles")
    .where((eb) => eb.or([eb("org_id", "=", orgId), eb("org_id", "is", null)]))
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", normaliseName(name).toLowerCase()))
    .selectAll()
    .executeTakeFirst();
  if (!row) throw fieldError(RoleNotFound, field, "exists", `role \`${name}\` not found`);
  return row;
}

/**
 * Who holds the role in the organisation now, as Ranger shows it: bound users and groups (any
 * scope), and member roles. Only the organisation's own: a built-in role is bound in every
 * organisation, and one organisation's Ranger client must neither see nor drop another's members.
 */
export async function currentMembers(db: Queryable, orgId: string, roleId: string): Promise<CurrentMembers> {
  const users = await db
    .selectFrom("role_bindings as b")
    .innerJoin("users as u", (j) => j.on("b.principal_type", "=", "user").onRef("u.id", "=", "b.principal_id"))
    .where("b.role_id", "=", roleId)
    .where("b.org_id", "=", orgId)
    .select(["b.id as bindingId", "u.id", "u.username as name", "b.is_admin"])
    .execute();
  const groups = await db
    .selectFrom("role_bindings as b")
    .innerJoin("groups as g", (j) => j.on("b.principal_type", "=", "group").onRef("g.id", "=", "b.principal_id"))
    .where("b.role_id", "=", roleId)
    .where("b.org_id", "=", orgId)
    .select(["b.id as bindingId", "g.id", "g.name", "b.is_admin"])
    .execute();
  // Ranger's "R.roles = [M]" (members of M hold R) is Gatehouse's "M bundles R" (R among M's composites).
  const parents = await db
    .selectFrom("role_composites as c")
    .innerJoin("roles as r", "r.id", "c.role_id")
    .where("c.child_role_id", "=", roleId)
    .where((eb) => eb.or([eb("r.org_id", "=", orgId), eb("r.org_id", "is", null)]))
    .select(["r.id", "r.name", "c.is_admin"])
    .execute();
  const byName = (rows: { bindingId: string; id: string; name: string; is_admin: boolean }[]) => {
    const out = new Map<string, BoundMember>();
    for (const r of rows) {
      const key = r.name.toLowerCase();
      const entry = out.get(key) ?? { id: r.id, name: r.name, bindingIds: [], isAdmin: false };
      entry.bindingIds.push(r.bindingId);
      entry.isAdmin ||= r.is_admin;
      out.set(key, entry);
    }
    return out;
  };
  return {
    users: byName(users),
    groups: byName(groups),
    roles: new Map(parents.map((p) => [p.name.toLowerCase(), { id: p.id, name: p.name, isAdmin: p.is_admin }])),
  };
}

/** Unique by lower-cased name, keeping the first field that named each. */
function unique(members: NamedMember[]): Map<string, NamedMember> {
  const out = new Map<string, NamedMember>();
  for (const m of members) if (!out.has(m.name.toLowerCase())) out.set(m.name.toLowerCase(), m);
  return out;
}

/**
 * The ids of the members named in `wanted`, found by `find` (lower-cased names in, `{id, name}`
 * out). A missing one is REFERENCE_NOT_FOUND naming its field, or, with `create` (Ranger's
 * `createNonExistUserGroup`), made by it.
 */
async function resolveNamed(
  kind: "user" | "group",
  wanted: Map<string, NamedMember>,
  find: (lowerNames: string[]) => Promise<{ id: string; name: string }[]>,
  create: ((m: NamedMember) => Promise<string>) | null,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (wanted.size === 0) return out;
  for (const r of await find([...wanted.keys()])) out.set(r.name.toLowerCase(), r.id);
  for (const [key, m] of wanted) {
    if (out.has(key)) continue;
    if (!create) throw fieldError(ReferenceNotFound, m.field, "exists", `${kind} \`${m.name}\` not found`);
    out.set(key, await create(m));
  }
  return out;
}

/** The organisation's users named in `wanted`; `create` makes a missing one a new local user. */
function resolveUsers(tx: Tx, ctx: AuditContext, orgId: string, wanted: Map<string, NamedMember>, create: boolean) {
  return resolveNamed(
    "user",
    wanted,
    (names) =>
      tx
        .selectFrom("users")
        .where("org_id", "=", orgId)
        .where((eb) => eb(eb.fn("lower", ["username"]), "in", names))
        .select(["id", "username as name"])
        .execute(),
    create
      ? async (m) => {
          if (!USERNAME.test(m.name) || m.name.length > 255) {
            throw fieldError(ValidationFailed, m.field, "pattern", `\`${m.name}\` is not a valid username`);
          }
          return (await createUser(tx, ctx, { orgId, username: m.name })).id;
        }
      : null,
  );
}

/** The organisation's groups named in `wanted`; `create` makes a missing one a top-level local group. */
function resolveGroups(tx: Tx, ctx: AuditContext, orgId: string, wanted: Map<string, NamedMember>, create: boolean) {
  return resolveNamed(
    "group",
    wanted,
    (names) =>
      tx
        .selectFrom("groups")
        .where("org_id", "=", orgId)
        .where((eb) => eb(eb.fn("lower", ["name"]), "in", names))
        .select(["id", "name"])
        .execute(),
    create ? async (m) => (await createGroup(tx, ctx, { orgId, name: m.name, creatorBecomesOwner: false })).id : null,
  );
}

/**
 * Bindings of `principal` to the role: created for the wanted ones it lacks (administrators when
 * asked), deleted for the unwanted ones, and, for a member that stays, its administrator flag set
 * on every binding it has when the request says otherwise.
 */
async function syncBindings(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  role: RoleRow,
  type: "user" | "group",
  current: Map<string, BoundMember>,
  wanted: Map<string, NamedMember>,
  ids: Map<string, string>,
): Promise<void> {
  for (const [key, entry] of current) {
    if (wanted.has(key)) continue;
    for (const id of entry.bindingIds) await deleteRoleBinding(tx, ctx, id);
  }
  for (const [key, member] of wanted) {
    const entry = current.get(key);
    if (entry) {
      if (member.isAdmin === undefined || member.isAdmin === entry.isAdmin) continue;
      for (const id of entry.bindingIds) await setRoleBindingAdmin(tx, ctx, id, member.isAdmin);
      continue;
    }
    const principalId = ids.get(key) as string;
    await createRoleBinding(tx, ctx, {
      orgId,
      roleId: role.id,
      principal: { type, id: principalId },
      isAdmin: member.isAdmin ?? false,
    });
  }
}

/**
 * Makes `parent` bundle `role` (`link`: with the flag saying whether parent's direct members
 * administer it) or no longer bundle it (`link` null), through the native role service.
 */
async function setComposite(
  tx: Tx,
  ctx: AuditContext,
  parent: RoleRow,
  role: RoleRow,
  link: { isAdmin: boolean } | null,
  field: string,
) {
  if (parent.builtin) {
    throw fieldError(
      RoleBuiltinImmutable,
      field,
      "builtin",
      `role \`${parent.name}\` is built in: it cannot take or lose member roles`,
    );
  }
  const links = await compositeLinksOf(tx, parent.id);
  const composites = links.composites.filter((id) => id !== role.id);
  const administers = links.administers.filter((id) => id !== role.id);
  if (link) composites.push(role.id);
  if (link?.isAdmin) administers.push(role.id);
  try {
    await updateRole(tx, ctx, parent.id, { composites, administers });
  } catch (err) {
    // The native message names `body.composites[i]` of a PATCH this client never sent.
    if (err instanceof AppError && err.code === RoleCompositeCycle.code) {
      throw fieldError(
        RoleCompositeCycle,
        field,
        "acyclic",
        `role \`${parent.name}\` is already reached through \`${role.name}\`; a cycle would form`,
      );
    }
    throw err;
  }
}

/**
 * Makes the role's members what `desired` says (each list given replaces that list): users and
 * groups become organisation-scope role bindings (a member removed loses every binding of the role,
 * at any scope, as Ranger shows one entry per member); member roles become composites (Ranger's
 * `R.roles = [M]`, members of M hold R, is M bundling R). A member's `isAdmin` becomes its
 * binding's flag, or the composite link's; undefined keeps it. Every change goes through the native
 * services, which check cycles and privilege escalation and write the audit events.
 */
export async function setRoleMembers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  role: RoleRow,
  desired: DesiredMembers,
  createMissing: boolean,
): Promise<void> {
  const current = await currentMembers(tx, orgId, role.id);
  if (desired.users) {
    const wanted = unique(desired.users);
    const ids = await resolveUsers(tx, ctx, orgId, wanted, createMissing);
    await syncBindings(tx, ctx, orgId, role, "user", current.users, wanted, ids);
  }
  if (desired.groups) {
    const wanted = unique(desired.groups);
    const ids = await resolveGroups(tx, ctx, orgId, wanted, createMissing);
    await syncBindings(tx, ctx, orgId, role, "group", current.groups, wanted, ids);
  }
  if (desired.roles) {
    const wanted = unique(desired.roles);
    for (const [key, entry] of current.roles) {
      if (wanted.has(key)) continue;
      await setComposite(tx, ctx, await getRoleRow(tx, entry.id), role, null, "body.roles");
    }
    for (const [key, m] of wanted) {
      const entry = current.roles.get(key);
      if (entry) {
        if (m.isAdmin === undefined || m.isAdmin === entry.isAdmin) continue;
        await setComposite(tx, ctx, await getRoleRow(tx, entry.id), role, { isAdmin: m.isAdmin }, m.field);
        continue;
      }
      const parent = await roleByName(tx, orgId, m.name, m.field);
      if (parent.id === role.id) {
        throw fieldError(RoleCompositeCycle, m.field, "acyclic", "a role cannot be a member of itself");
      }
      await setComposite(tx, ctx, parent, role, { isAdmin: m.isAdmin ?? false }, m.field);
    }
  }
}

/**
 * Roles as one organisation's Ranger client reads them back: the organisation's roles and the
 * built-in ones, each with the members bound in that organisation (`currentMembers`' view, so what
 * a client reads it can write back unchanged). The plugins' download (`exportRangerRoles`) shows
 * every organisation's members instead, since enforcement spans them all.
 */
export async function presentRoles(db: Queryable, orgId: string): Promise<RangerRole[]> {
  return (await exportRangerRoles(db, "", { orgId })).rangerRoles ?? [];
}

/** One role as Ranger clients read it back: members of the role's organisation, or of `orgId` for a built-in role. */
export async function presentRole(db: Queryable, role: RoleRow, orgId: string): Promise<RangerRole> {
  const found = (await presentRoles(db, role.org_id ?? orgId)).find((r) => r.id === role.num);
  if (!found) throw RoleNotFound(`role \`${role.name}\` not found`);
  return found;
}

/** A whole `RangerRole`'s member lists (absent lists are empty, as Ranger replaces them whole). */
export function desiredOf(body: {
  users?: RangerRoleMember[] | null;
  groups?: RangerRoleMember[] | null;
  roles?: RangerRoleMember[] | null;
}): DesiredMembers {
  return {
    users: namedMembers(body.users ?? [], "body.users"),
    groups: namedMembers(body.groups ?? [], "body.groups"),
    roles: namedMembers(body.roles ?? [], "body.roles"),
  };
}

/**
 * How `changeMembers` treats the names it is given: `add` makes them members (Ranger's
 * add-or-update: `isAdmin` becomes the flag of each, new or already there; undefined keeps the flag
 * of one already there); `remove` takes them out; `removeAdmin` keeps them but takes their
 * administrator flag away (Ranger's REVOKE ADMIN OPTION FOR). Names that are not members are
 * ignored by both removals.
 */
export type MemberChange = { kind: "add"; isAdmin: boolean | undefined } | { kind: "remove" } | { kind: "removeAdmin" };

/** Applies `change` to some of the role's users, groups and member roles, leaving the others as they are. */
export async function changeMembers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  role: RoleRow,
  named: { users: NamedMember[]; groups: NamedMember[]; roles: NamedMember[] },
  change: MemberChange,
): Promise<void> {
  const current = await currentMembers(tx, orgId, role.id);
  const apply = (now: Map<string, { name: string }>, names: NamedMember[], field: string): NamedMember[] => {
    const asked = new Map(names.map((n) => [n.name.toLowerCase(), n]));
    const kept: NamedMember[] = [];
    for (const [key, entry] of now) {
      // A member the request names keeps the request's field, so an error points at it.
      const mention = asked.get(key);
      const at = mention?.field ?? `${field}[${kept.length}]`;
      if (!mention) kept.push({ name: entry.name, field: at });
      else if (change.kind === "add") kept.push({ name: entry.name, field: at, isAdmin: change.isAdmin });
      else if (change.kind === "removeAdmin") kept.push({ name: entry.name, field: at, isAdmin: false });
    }
    if (change.kind !== "add") return kept;
    const added = names.filter((n) => !now.has(n.name.toLowerCase())).map((n) => ({ ...n, isAdmin: change.isAdmin }));
    return [...kept, ...added];
  };
  await setRoleMembers(
    tx,
    ctx,
    orgId,
    role,
    {
      users: apply(current.users, named.users, "body.users"),
      groups: apply(current.groups, named.groups, "body.groups"),
      roles: apply(current.roles, named.roles, "body.roles"),
    },
    false,
  );
}
