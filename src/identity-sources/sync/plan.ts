import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Queryable } from "../../storage/db.ts";
import type { LdapConfig } from "../ldap-config.ts";
import type { DirectoryGroupEntry, DirectorySnapshot, DirectoryUserEntry } from "./read-directory.ts";

/** A conflict the sync reported instead of resolving: the entry it concerns was left alone. */
export interface SyncConflict {
  kind: "usernameTaken" | "groupNameTaken" | "duplicateInDirectory" | "multipleParents" | "nestingCycle";
  entry: "user" | "group";
  dn: string;
  name: string;
  message: string;
  /** The local user or group in the way, when there is one. */
  existingId?: string | undefined;
}

/** What the directory holds now that the local copy does not: everything a run would write. */
export interface SyncPlan {
  createUsers: DirectoryUserEntry[];
  updateUsers: { localId: string; entry: DirectoryUserEntry; before: UserFields }[];
  enableUsers: { localId: string; entry: DirectoryUserEntry }[];
  disableUsers: { localId: string; entryId: string; dn: string }[];
  createGroups: DirectoryGroupEntry[];
  /** Groups of the same name bound to this source by hand (`externalId` = DN): taken over. */
  adoptGroups: { localId: string; entry: DirectoryGroupEntry }[];
  renameGroups: { localId: string; entry: DirectoryGroupEntry; before: string }[];
  enableGroups: { localId: string; entry: DirectoryGroupEntry }[];
  disableGroups: { localId: string; entryId: string; dn: string }[];
  /** Memberships as (group entry id, user entry id). */
  addMembers: [string, string][];
  removeMembers: [string, string][];
  /** Parent changes as (group entry id, parent group entry id or null). */
  moveGroups: [string, string | null][];
  /** Entries whose DN or digest the shadow table must learn (renames and moves included). */
  touched: { kind: "user" | "group"; entryId: string; dn: string; digest: string }[];
  conflicts: SyncConflict[];
}

/** The synced fields of a user. */
export interface UserFields {
  username: string;
  email: string | null;
  displayName: string | null;
}

interface Shadow {
  entryId: string;
  dn: string;
  localId: string;
  digest: string;
  present: boolean;
}

const digestOf = (parts: (string | null)[]) => createHash("sha1").update(JSON.stringify(parts)).digest("base64url");
export const userDigest = (u: DirectoryUserEntry) => digestOf([u.username, u.email, u.displayName]);
export const groupDigest = (g: DirectoryGroupEntry) => digestOf([g.name]);

/** Counts of a plan, as runs report them. */
export function planCounts(plan: SyncPlan): Record<string, number> {
  return {
    usersCreated: plan.createUsers.length,
    usersUpdated: plan.updateUsers.length,
    usersEnabled: plan.enableUsers.length,
    usersDisabled: plan.disableUsers.length,
    groupsCreated: plan.createGroups.length + plan.adoptGroups.length,
    groupsUpdated: plan.renameGroups.length,
    groupsEnabled: plan.enableGroups.length,
    groupsDisabled: plan.disableGroups.length,
    membershipsAdded: plan.addMembers.length,
    membershipsRemoved: plan.removeMembers.length,
    groupsMoved: plan.moveGroups.length,
    conflicts: plan.conflicts.length,
  };
}

/**
 * Compares what the directory holds with what the source manages locally and lists every change
 * a run makes, without writing. A full snapshot (`full`) is the whole directory: managed entries
 * missing from it left the directory and are disabled. An incremental one holds only changed
 * entries: nothing is disabled, and only the memberships and nesting of changed groups are
 * compared. Entries are matched by their directory id, never by DN, so a renamed or moved entry
 * is updated in place. Local users and groups, and their memberships, are never in the plan.
 */
export async function planSync(
  db: Queryable,
  source: { id: string; orgId: string; config: LdapConfig },
  snapshot: DirectorySnapshot,
  full: boolean,
): Promise<SyncPlan> {
  const plan: SyncPlan = {
    createUsers: [],
    updateUsers: [],
    enableUsers: [],
    disableUsers: [],
    createGroups: [],
    adoptGroups: [],
    renameGroups: [],
    enableGroups: [],
    disableGroups: [],
    addMembers: [],
    removeMembers: [],
    moveGroups: [],
    touched: [],
    conflicts: [],
  };
  const shadowRows = await db
    .selectFrom("identity_sync_entries")
    .where("source_id", "=", source.id)
    .select(["kind", "entry_id", "dn", "local_id", "digest", "present"])
    .execute();
  const shadow = { user: new Map<string, Shadow>(), group: new Map<string, Shadow>() };
  const byLocal = new Map<string, string>();
  const byDn = { user: new Map<string, string>(), group: new Map<string, string>() };
  for (const r of shadowRows) {
    shadow[r.kind].set(r.entry_id, {
      entryId: r.entry_id,
      dn: r.dn,
      localId: r.local_id,
      digest: r.digest,
      present: r.present,
    });
    byLocal.set(r.local_id, r.entry_id);
    if (r.present) byDn[r.kind].set(r.dn.toLowerCase(), r.entry_id);
  }

  // ── users ──
  const usable = new Set<string>(); // user entry ids that may hold memberships
  const usernameOf = new Map<string, string>(); // lower username → entry id (directory side)
  const localUsers = await usersNamed(db, source.orgId, [...snapshot.users.map((u) => u.username.toLowerCase())]);
  for (const u of snapshot.users) {
    const lower = u.username.toLowerCase();
    const dup = usernameOf.get(lower);
    if (dup !== undefined && dup !== u.entryId) {
      plan.conflicts.push(
        conflict("duplicateInDirectory", "user", u.dn, u.username, "another directory entry has this username"),
      );
      continue;
    }
    usernameOf.set(lower, u.entryId);
    const known = shadow.user.get(u.entryId);
    const holder = localUsers.get(lower);
    if (!known) {
      if (holder) {
        plan.conflicts.push(
          conflict("usernameTaken", "user", u.dn, u.username, `a ${holder.source} user has this username`, holder.id),
        );
        continue;
      }
      plan.createUsers.push(u);
    } else {
      if (holder && holder.id !== known.localId) {
        plan.conflicts.push(
          conflict(
            "usernameTaken",
            "user",
            u.dn,
            u.username,
            `renamed in the directory; a ${holder.source} user has the new username`,
            holder.id,
          ),
        );
        usable.add(u.entryId);
        continue;
      }
      if (known.digest !== userDigest(u))
        plan.updateUsers.push({
          localId: known.localId,
          entry: u,
          before: { username: "", email: null, displayName: null },
        });
      if (!known.present) plan.enableUsers.push({ localId: known.localId, entry: u });
    }
    usable.add(u.entryId);
    if (!known || known.dn !== u.dn || known.digest !== userDigest(u) || !known.present) {
      plan.touched.push({ kind: "user", entryId: u.entryId, dn: u.dn, digest: userDigest(u) });
    }
  }
  if (full) {
    const seen = new Set(snapshot.users.map((u) => u.entryId));
    for (const s of shadow.user.values()) {
      if (s.present && !seen.has(s.entryId))
        plan.disableUsers.push({ localId: s.localId, entryId: s.entryId, dn: s.dn });
    }
  }
  if (plan.updateUsers.length > 0) {
    const before = await db
      .selectFrom("users")
      .where(
        "id",
        "in",
        plan.updateUsers.map((u) => u.localId),
      )
      .select(["id", "username", "email", "display_name"])
      .execute();
    const map = new Map(before.map((r) => [r.id, r]));
    for (const u of plan.updateUsers) {
      const r = map.get(u.localId);
      if (r) u.before = { username: r.username, email: r.email, displayName: r.display_name };
    }
  }

  // ── groups ──
  const usableGroups = new Set<string>();
  const groupNames = new Map<string, string>();
  const localGroups = await groupsNamed(
    db,
    source.orgId,
    snapshot.groups.map((g) => g.name.toLowerCase()),
  );
  const currentNames = new Map<string, string>();
  if (snapshot.groups.some((g) => shadow.group.has(g.entryId))) {
    const rows = await db
      .selectFrom("groups")
      .where(
        "id",
        "in",
        snapshot.groups.flatMap((g) => shadow.group.get(g.entryId)?.localId ?? []),
      )
      .select(["id", "name"])
      .execute();
    for (const r of rows) currentNames.set(r.id, r.name);
  }
  for (const g of snapshot.groups) {
    const lower = g.name.toLowerCase();
    const dup = groupNames.get(lower);
    if (dup !== undefined && dup !== g.entryId) {
      plan.conflicts.push(
        conflict("duplicateInDirectory", "group", g.dn, g.name, "another directory group has this name"),
      );
      continue;
    }
    groupNames.set(lower, g.entryId);
    const known = shadow.group.get(g.entryId);
    const holder = localGroups.get(lower);
    if (!known) {
      if (holder) {
        if (holder.identity_source_id === source.id && holder.external_id?.toLowerCase() === g.dn.toLowerCase()) {
          plan.adoptGroups.push({ localId: holder.id, entry: g });
        } else {
          plan.conflicts.push(
            conflict("groupNameTaken", "group", g.dn, g.name, `a ${holder.source} group has this name`, holder.id),
          );
          continue;
        }
      } else {
        plan.createGroups.push(g);
      }
    } else {
      const current = currentNames.get(known.localId) ?? "";
      if (current !== g.name) {
        if (holder && holder.id !== known.localId) {
          plan.conflicts.push(
            conflict(
              "groupNameTaken",
              "group",
              g.dn,
              g.name,
              `renamed in the directory; a ${holder.source} group has the new name`,
              holder.id,
            ),
          );
        } else {
          plan.renameGroups.push({ localId: known.localId, entry: g, before: current });
        }
      }
      if (!known.present) plan.enableGroups.push({ localId: known.localId, entry: g });
    }
    usableGroups.add(g.entryId);
    if (!known || known.dn !== g.dn || known.digest !== groupDigest(g) || !known.present) {
      plan.touched.push({ kind: "group", entryId: g.entryId, dn: g.dn, digest: groupDigest(g) });
    }
  }
  if (full) {
    const seen = new Set(snapshot.groups.map((g) => g.entryId));
    for (const s of shadow.group.values()) {
      if (s.present && !seen.has(s.entryId))
        plan.disableGroups.push({ localId: s.localId, entryId: s.entryId, dn: s.dn });
    }
  }

  // ── memberships ──
  const userDn = new Map(byDn.user);
  for (const u of snapshot.users) userDn.set(u.dn.toLowerCase(), u.entryId);
  const groupDn = new Map(byDn.group);
  for (const g of snapshot.groups) groupDn.set(g.dn.toLowerCase(), g.entryId);
  for (const s of plan.disableUsers) userDn.delete(s.dn.toLowerCase());
  for (const s of plan.disableGroups) groupDn.delete(s.dn.toLowerCase());
  const isUsableUser = (entryId: string) =>
    usable.has(entryId) || (!full && shadow.user.get(entryId)?.present === true);

  const desired = new Map<string, Set<string>>(); // group entry id → user entry ids
  const parentsOf = new Map<string, Set<string>>(); // child group entry id → parent group entry ids
  const addParent = (child: string, parent: string) => {
    if (child === parent) return;
    let set = parentsOf.get(child);
    if (!set) {
      set = new Set();
      parentsOf.set(child, set);
    }
    set.add(parent);
  };
  const membership = source.config.membership;
  const flat = membership === "memberOf" && source.config.memberOfNesting === "inChain";
  for (const g of snapshot.groups) {
    if (!usableGroups.has(g.entryId)) continue;
    const users = new Set<string>();
    desired.set(g.entryId, users);
    if (membership === "dn" || flat) {
      for (const dn of g.members) {
        const lower = dn.toLowerCase();
        const user = userDn.get(lower);
        if (user !== undefined) {
          if (isUsableUser(user)) users.add(user);
          continue;
        }
        const child = groupDn.get(lower);
        if (child !== undefined && !flat) addParent(child, g.entryId);
      }
    } else if (membership === "uid") {
      for (const uid of g.members) {
        const user = usernameOf.get(uid.toLowerCase());
        if (user !== undefined && isUsableUser(user)) users.add(user);
      }
    } else {
      for (const dn of g.memberOf) {
        const parent = groupDn.get(dn.toLowerCase());
        if (parent !== undefined) addParent(g.entryId, parent);
      }
    }
  }
  if (membership === "memberOf" && !flat) {
    for (const u of snapshot.users) {
      if (!isUsableUser(u.entryId)) continue;
      for (const dn of u.memberOf) {
        const group = groupDn.get(dn.toLowerCase());
        if (group !== undefined && desired.has(group)) desired.get(group)?.add(u.entryId);
      }
    }
  }

  // Current sync-owned memberships of the compared groups (both ends managed by this source).
  const comparedGroups = [...desired.keys()].flatMap((e) => shadow.group.get(e)?.localId ?? []);
  if (comparedGroups.length > 0) {
    const current = await sql<{ group_id: string; user_id: string }>`
      select m.group_id, m.user_id from group_members m
      join identity_sync_entries u on u.local_id = m.user_id and u.source_id = ${source.id}::uuid and u.kind = 'user'
      where m.group_id = any(${comparedGroups}::uuid[])`.execute(db);
    const have = new Map<string, Set<string>>();
    for (const r of current.rows) {
      const g = byLocal.get(r.group_id) as string;
      const u = byLocal.get(r.user_id) as string;
      let set = have.get(g);
      if (!set) {
        set = new Set();
        have.set(g, set);
      }
      set.add(u);
    }
    for (const [g, users] of desired) {
      const held = have.get(g) ?? new Set<string>();
      for (const u of users) if (!held.has(u)) plan.addMembers.push([g, u]);
      for (const u of held) if (!users.has(u)) plan.removeMembers.push([g, u]);
    }
  } else {
    for (const [g, users] of desired) for (const u of users) plan.addMembers.push([g, u]);
  }
  if (!flat && membership !== "uid")
    await planNesting(db, snapshot, full, shadow, byLocal, usableGroups, parentsOf, plan);
  return plan;
}

/**
 * The nesting: a group's parent is the directory group listing it. Gatehouse groups form a tree,
 * so a group listed by several groups keeps one parent (the first by DN) and the others are
 * reported; a cycle in the directory is broken and reported. A parent set locally (a local
 * group) is kept while the directory names none.
 */
async function planNesting(
  db: Queryable,
  snapshot: DirectorySnapshot,
  full: boolean,
  shadow: { user: Map<string, Shadow>; group: Map<string, Shadow> },
  byLocal: Map<string, string>,
  usableGroups: Set<string>,
  parentsOf: Map<string, Set<string>>,
  plan: SyncPlan,
): Promise<void> {
  const managedIds = [...shadow.group.values()].map((s) => s.localId);
  const currentParent = new Map<string, string | null>(); // group entry id → parent entry id, or null / "local"
  if (managedIds.length > 0) {
    const rows = await db.selectFrom("groups").where("id", "in", managedIds).select(["id", "parent_id"]).execute();
    for (const r of rows) {
      const e = byLocal.get(r.id) as string;
      currentParent.set(e, r.parent_id === null ? null : (byLocal.get(r.parent_id) ?? "local"));
    }
  }
  const dnOf = new Map<string, string>();
  for (const s of shadow.group.values()) dnOf.set(s.entryId, s.dn.toLowerCase());
  for (const g of snapshot.groups) dnOf.set(g.entryId, g.dn.toLowerCase());
  const disabled = new Set(plan.disableGroups.map((g) => g.entryId));
  const inSnapshot = new Set(snapshot.groups.map((g) => g.entryId));
  const children = new Set<string>(parentsOf.keys());
  for (const [child, parent] of currentParent) {
    if (full || (parent !== null && parent !== "local" && inSnapshot.has(parent))) children.add(child);
  }
  if (!full) for (const g of snapshot.groups) children.add(g.entryId);
  const desiredParent = new Map<string, string | null>();
  for (const child of children) {
    if (disabled.has(child) || (!usableGroups.has(child) && !shadow.group.has(child))) continue;
    const candidates = new Set(
      [...(parentsOf.get(child) ?? [])].filter((p) => usableGroups.has(p) && !disabled.has(p)),
    );
    const now = currentParent.get(child) ?? null;
    if (!full && now !== null && now !== "local" && !inSnapshot.has(now)) candidates.add(now);
    const sorted = [...candidates].sort((a, b) => ((dnOf.get(a) ?? "") < (dnOf.get(b) ?? "") ? -1 : 1));
    const chosen = sorted[0] ?? null;
    if (sorted.length > 1) {
      plan.conflicts.push(
        conflict(
          "multipleParents",
          "group",
          dnOf.get(child) ?? child,
          dnOf.get(child) ?? child,
          `listed by ${sorted.length} groups; kept under ${dnOf.get(chosen as string)} (groups form a tree)`,
        ),
      );
    }
    if (chosen === null && now === "local") continue;
    desiredParent.set(child, chosen);
  }
  const parentOf = (e: string) => (desiredParent.has(e) ? desiredParent.get(e) : currentParent.get(e)) ?? null;
  for (const child of desiredParent.keys()) {
    let at = parentOf(child);
    for (let hops = 0; at !== null && at !== "local" && hops < 10_000; hops++) {
      if (at === child) {
        plan.conflicts.push(
          conflict(
            "nestingCycle",
            "group",
            dnOf.get(child) ?? child,
            dnOf.get(child) ?? child,
            "the directory's nesting forms a cycle; this group is kept at the top",
          ),
        );
        desiredParent.set(child, null);
        break;
      }
      at = parentOf(at);
    }
  }
  for (const [child, parent] of desiredParent) {
    if ((currentParent.get(child) ?? null) !== parent || !shadow.group.has(child)) {
      if (parent === null && !shadow.group.has(child)) continue;
      plan.moveGroups.push([child, parent]);
    }
  }
}

function conflict(
  kind: SyncConflict["kind"],
  entry: SyncConflict["entry"],
  dn: string,
  name: string,
  message: string,
  existingId?: string,
): SyncConflict {
  return { kind, entry, dn, name, message, ...(existingId ? { existingId } : {}) };
}

async function usersNamed(db: Queryable, orgId: string, lowerNames: string[]) {
  const found = new Map<string, { id: string; source: string }>();
  for (let at = 0; at < lowerNames.length; at += 10_000) {
    const rows = await sql<{ id: string; username: string; source: string }>`
      select id, username, source from users
      where org_id = ${orgId}::uuid and lower(username) = any(${lowerNames.slice(at, at + 10_000)}::text[])`.execute(
      db,
    );
    for (const r of rows.rows) found.set(r.username.toLowerCase(), { id: r.id, source: r.source });
  }
  return found;
}

async function groupsNamed(db: Queryable, orgId: string, lowerNames: string[]) {
  const found = new Map<
    string,
    { id: string; source: string; identity_source_id: string | null; external_id: string | null }
  >();
  for (let at = 0; at < lowerNames.length; at += 10_000) {
    const rows = await sql<{
      id: string;
      name: string;
      source: string;
      identity_source_id: string | null;
      external_id: string | null;
    }>`
      select id, name, source, identity_source_id, external_id from groups
      where org_id = ${orgId}::uuid and lower(name) = any(${lowerNames.slice(at, at + 10_000)}::text[])`.execute(db);
    for (const r of rows.rows) found.set(r.name.toLowerCase(), r);
  }
  return found;
}
