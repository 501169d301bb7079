import { createHash } from "node:crypto";
import type { RangerRole, RangerRoles } from "../../engine/index.ts";
import type { Queryable } from "../../storage/db.ts";

/**
 * The directory's roles as Ranger's `RangerRoles`: each role lists the users and groups bound
 * to it by name, and, as member roles, the composite roles that include it (holding a composite
 * gives its children, which is Ranger's "members of a member role are members"). Each member's
 * `isAdmin` is its role-administrator flag (a binding's, or the composite link's), which plugins
 * read to show `WITH ADMIN OPTION`. A plugin engine
 * built from this computes the same roles for a user and its groups as the server resolves from
 * the directory.
 *
 * `roleVersion` is a fingerprint of the content (31 bits of its SHA-256, so it fits Ranger's and our integer columns), not a counter: the
 * directory keeps no role version, and equality is all a plugin's `lastKnownRoleVersion`
 * comparison needs.
 *
 * With `scope`, one organisation's view for its Ranger admin API clients: its own roles and the
 * built-in ones, with only the members bound in that organisation (what its writes change).
 */
export async function exportRangerRoles(
  db: Queryable,
  serviceName: string,
  scope?: { orgId: string },
): Promise<RangerRoles> {
  const roles = await db
    .selectFrom("roles")
    .$if(scope !== undefined, (q) =>
      q.where((eb) => eb.or([eb("org_id", "=", scope?.orgId ?? ""), eb("org_id", "is", null)])),
    )
    .select(["id", "num", "name", "description"])
    .orderBy("num")
    .execute();
  const byId = new Map<string, RangerRole>();
  for (const r of roles) {
    byId.set(r.id, { id: r.num, name: r.name, description: r.description, users: [], groups: [], roles: [] });
  }
  const users = await db
    .selectFrom("role_bindings as b")
    .innerJoin("users as u", (j) => j.on("b.principal_type", "=", "user").onRef("u.id", "=", "b.principal_id"))
    .$if(scope !== undefined, (q) => q.where("b.org_id", "=", scope?.orgId ?? ""))
    .select(["b.role_id", "u.username as name", "b.is_admin"])
    .execute();
  const groups = await db
    .selectFrom("role_bindings as b")
    .innerJoin("groups as g", (j) => j.on("b.principal_type", "=", "group").onRef("g.id", "=", "b.principal_id"))
    .$if(scope !== undefined, (q) => q.where("b.org_id", "=", scope?.orgId ?? ""))
    .select(["b.role_id", "g.name as name", "b.is_admin"])
    .execute();
  const composites = await db.selectFrom("role_composites").select(["role_id", "child_role_id", "is_admin"]).execute();
  // One entry per member; a user or group bound several times (at several scopes) administers the
  // role when any of its bindings says so.
  const add = (list: { name: string; isAdmin?: boolean }[] | undefined, name: string, isAdmin: boolean) => {
    if (!list) return;
    const entry = list.find((m) => m.name === name);
    if (entry) entry.isAdmin = entry.isAdmin === true || isAdmin;
    else list.push({ name, isAdmin });
  };
  for (const u of users) add(byId.get(u.role_id)?.users, u.name, u.is_admin);
  for (const g of groups) add(byId.get(g.role_id)?.groups, g.name, g.is_admin);
  for (const c of composites) {
    const parent = byId.get(c.role_id);
    if (parent) add(byId.get(c.child_role_id)?.roles, parent.name, c.is_admin);
  }
  const rangerRoles = [...byId.values()];
  for (const r of rangerRoles)
    for (const list of [r.users, r.groups, r.roles]) list?.sort((a, b) => (a.name < b.name ? -1 : 1));
  const hash = createHash("sha256").update(JSON.stringify(rangerRoles)).digest("hex");
  return { serviceName, roleVersion: Number.parseInt(hash.slice(0, 8), 16) & 0x7fffffff, rangerRoles };
}
