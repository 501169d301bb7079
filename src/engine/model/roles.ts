import type { RangerRole } from "../types.ts";

/**
 * Role resolution (Ranger's `RangerRolesUtil`): a role listed inside role R passes R on to its
 * members, transitively. Precomputed into user → roles and group → roles maps at build time.
 */
export interface RoleIndex {
  readonly userRoles: ReadonlyMap<string, readonly string[]>;
  readonly groupRoles: ReadonlyMap<string, readonly string[]>;
  readonly isEmpty: boolean;
}

export function buildRoleIndex(roles: readonly RangerRole[] | undefined): RoleIndex {
  const byName = new Map((roles ?? []).map((r) => [r.name, r]));
  const userRoles = new Map<string, Set<string>>();
  const groupRoles = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, k: string, role: string) => {
    let s = m.get(k);
    if (!s) {
      s = new Set();
      m.set(k, s);
    }
    s.add(role);
  };
  for (const role of byName.values()) {
    // role plus every role nested (transitively) inside it: their members hold `role`
    const closure = new Set<string>();
    const stack = [role.name];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (closure.has(n)) continue;
      closure.add(n);
      for (const sub of byName.get(n)?.roles ?? []) stack.push(sub.name);
    }
    for (const n of closure) {
      const r = byName.get(n);
      if (!r) continue;
      for (const u of r.users ?? []) add(userRoles, u.name, role.name);
      for (const g of r.groups ?? []) add(groupRoles, g.name, role.name);
    }
  }
  const freeze = (m: Map<string, Set<string>>) => new Map([...m].map(([k, v]) => [k, [...v]]));
  return { userRoles: freeze(userRoles), groupRoles: freeze(groupRoles), isEmpty: byName.size === 0 };
}

/** Roles of a user: own ∪ each group's ∪ `public`'s. */
export function rolesFor(index: RoleIndex, user: string | undefined, groups: readonly string[]): Set<string> {
  const out = new Set<string>();
  if (index.isEmpty) return out;
  if (user !== undefined) for (const r of index.userRoles.get(user) ?? []) out.add(r);
  for (const g of groups) for (const r of index.groupRoles.get(g) ?? []) out.add(r);
  for (const r of index.groupRoles.get("public") ?? []) out.add(r);
  return out;
}
