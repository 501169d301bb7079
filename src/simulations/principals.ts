import type { RangerPolicy, RangerPolicyItem } from "../engine/index.ts";
import { ITEM_LISTS } from "../policies/policy-model.ts";

/**
 * Principals as a simulation sees them (user, effective groups, roles) and the directory part of a
 * draft: memberships and role bindings added or removed, applied to a principal without touching
 * the directory. Pure.
 */

/** A user with the group and role names decisions are made with. */
export interface SimPrincipal {
  user: string;
  groups: readonly string[];
  roles: readonly string[];
}

/** Directory changes of a draft. Groups and roles are named as policies name them. */
export interface DirectoryDraft {
  memberships?: {
    add?: { user: string; group: string }[];
    remove?: { user: string; group: string }[];
  };
  roleBindings?: {
    add?: { role: string; user?: string; group?: string }[];
    remove?: { role: string; user?: string; group?: string }[];
  };
}

/** Whether the draft changes anything in the directory. */
export function hasDirectoryChanges(d: DirectoryDraft | undefined): boolean {
  if (!d) return false;
  return (
    (d.memberships?.add?.length ?? 0) +
      (d.memberships?.remove?.length ?? 0) +
      (d.roleBindings?.add?.length ?? 0) +
      (d.roleBindings?.remove?.length ?? 0) >
    0
  );
}

/**
 * The principal after the draft's directory changes: named memberships added or removed (the
 * group named, not its ancestors), then roles bound to the user or one of its groups added, and
 * roles whose binding to the user or one of its groups is removed taken away.
 */
export function applyDirectoryDraft(p: SimPrincipal, d: DirectoryDraft | undefined): SimPrincipal {
  if (!d || !hasDirectoryChanges(d)) return p;
  const groups = new Set(p.groups);
  for (const m of d.memberships?.remove ?? []) if (m.user === p.user) groups.delete(m.group);
  for (const m of d.memberships?.add ?? []) if (m.user === p.user) groups.add(m.group);
  const roles = new Set(p.roles);
  const holds = (b: { user?: string; group?: string }) =>
    (b.user !== undefined && b.user === p.user) || (b.group !== undefined && groups.has(b.group));
  for (const b of d.roleBindings?.remove ?? []) if (holds(b)) roles.delete(b.role);
  for (const b of d.roleBindings?.add ?? []) if (holds(b)) roles.add(b.role);
  return { user: p.user, groups: [...groups].sort(), roles: [...roles].sort() };
}

/** Users, groups and roles the directory part of a draft names. */
export function directoryNames(d: DirectoryDraft | undefined): { users: Set<string>; groups: Set<string> } {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const m of [...(d?.memberships?.add ?? []), ...(d?.memberships?.remove ?? [])]) users.add(m.user);
  for (const b of [...(d?.roleBindings?.add ?? []), ...(d?.roleBindings?.remove ?? [])]) {
    if (b.user !== undefined) users.add(b.user);
    if (b.group !== undefined) groups.add(b.group);
  }
  return { users, groups };
}

/** Groups and roles whose holders the directory part of a draft changes. */
export function directoryTouches(d: DirectoryDraft | undefined): { groups: Set<string>; roles: Set<string> } {
  const groups = new Set<string>();
  const roles = new Set<string>();
  for (const m of [...(d?.memberships?.add ?? []), ...(d?.memberships?.remove ?? [])]) groups.add(m.group);
  for (const b of [...(d?.roleBindings?.add ?? []), ...(d?.roleBindings?.remove ?? [])]) roles.add(b.role);
  return { groups, roles };
}

/**
 * Principals standing for every user of `directory`: each user in `named` (a policy names it, so
 * its name matters), and one user for each distinct set of groups and roles among the others (an
 * unnamed user's answers depend on its groups and roles only). Used when a draft reaches every user
 * (`public`, `{USER}`): the no-new-access check then asks these instead of every user.
 */
export function principalClasses(directory: readonly SimPrincipal[], named: ReadonlySet<string>): SimPrincipal[] {
  const out: SimPrincipal[] = [];
  const classes = new Set<string>();
  for (const p of directory) {
    if (named.has(p.user)) {
      out.push(p);
      continue;
    }
    const key = `${[...p.groups].sort().join("\u0000")}\u0001${[...p.roles].sort().join("\u0000")}`;
    if (classes.has(key)) continue;
    classes.add(key);
    out.push(p);
  }
  return out;
}

/**
 * Users, groups and roles named in any item of the policies, and whether an item reaches every
 * user (`public`, `{USER}`, `{OWNER}`) or a policy denies all else (it then reaches everyone it does not name).
 */
export function policyNames(policies: readonly RangerPolicy[]) {
  const users = new Set<string>();
  const groups = new Set<string>();
  const roles = new Set<string>();
  let anyUser = false;
  for (const p of policies) {
    if (p.isDenyAllElse === true) anyUser = true;
    for (const list of ITEM_LISTS) {
      for (const item of (p[list] as RangerPolicyItem[] | undefined) ?? []) {
        for (const u of item.users ?? []) {
          if (u === "{USER}" || u === "{OWNER}") anyUser = true;
          else users.add(u);
        }
        for (const g of item.groups ?? []) {
          if (g === "public") anyUser = true;
          else groups.add(g);
        }
        for (const r of item.roles ?? []) roles.add(r);
      }
    }
  }
  return { users, groups, roles, anyUser };
}
