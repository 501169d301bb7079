import { sql } from "kysely";
import { type AuditContext, recordAudit, recordAuditMany } from "../../audit/audit.service.ts";
import { checkGroupName } from "../../directory/group-names.ts";
import { createGroups } from "../../directory/groups.service.ts";
import { batchMembersMany, type GroupMemberChanges } from "../../directory/members.service.ts";
import { orgRulesOf } from "../../directory/org-rules.ts";
import { createUsers, storedUsername } from "../../directory/users.service.ts";
import { normaliseName } from "../../http/names.ts";
import type { Tx } from "../../storage/db.ts";
import type { GroupRow, UserRow } from "../../storage/schema.ts";
import {
  groupFields,
  isValidName,
  type RangerGroupInput,
  type RangerUserInput,
  setGroupHidden,
  setUserHidden,
  upsertRangerGroup,
  upsertRangerUser,
  userChanges,
} from "./xusers.service.ts";

// Ranger usersync's bulk endpoints (XUserREST `ugsync/...`, XUserMgr.createOrUpdateXUsers,
// createOrUpdateXGroups, createOrDeleteXGroupUserList, updateDeletedUsers/Groups), as
// PolicyMgrUserGroupBuilder calls them: batches of up to `maxrecordsperapicall` (1,000) entries,
// each answered with a count that usersync parses as an integer. Each batch is one transaction of
// the directory's own writes, each audited; Ranger's silent skips are kept and listed in
// docs/compat.md.

/** A name as the directory compares it: one spelling (NFC), case ignored. */
const nameKey = (name: string): string => normaliseName(name).toLowerCase();

async function usersByName(tx: Tx, orgId: string, names: string[]): Promise<Map<string, UserRow>> {
  if (names.length === 0) return new Map();
  const rows = await sql<UserRow>`select * from users where org_id = ${orgId}::uuid
    and lower(username) = any(${names.map(nameKey)}::text[])`.execute(tx);
  return new Map(rows.rows.map((r) => [r.username.toLowerCase(), r]));
}

async function groupsByName(tx: Tx, orgId: string, names: string[]): Promise<Map<string, GroupRow>> {
  if (names.length === 0) return new Map();
  const rows = await sql<GroupRow>`select * from groups where org_id = ${orgId}::uuid
    and lower(name) = any(${names.map(nameKey)}::text[])`.execute(tx);
  return new Map(rows.rows.map((r) => [r.name.toLowerCase(), r]));
}

/**
 * `POST ugsync/users`: creates or updates each user by name. Ranger skips, silently and uncounted,
 * an entry whose name or first name is missing, blank or `null`; the answer is the number of
 * users written. New users are created together (`createUsers`: one insert and one audit insert
 * for the batch); existing ones are updated one by one, and only when something changes. A name
 * given twice in a batch ends with its last entry, as Ranger's one-by-one upserts do.
 */
export async function syncUsers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  users: (RangerUserInput | null)[],
): Promise<number> {
  const last = new Map<string, { user: RangerUserInput & { name: string }; field: string }>();
  let valid = 0;
  users.forEach((u, i) => {
    if (!u || !isValidName(u.name) || !isValidName(u.firstName)) return;
    valid++;
    const name = storedUsername(u.name, `body.vXUsers[${i}].name`);
    last.set(name.toLowerCase(), { user: { ...u, name }, field: `body.vXUsers[${i}]` });
  });
  const entries = [...last.values()];
  const existing = await usersByName(
    tx,
    orgId,
    entries.map((e) => e.user.name),
  );
  const fresh = entries.filter((e) => !existing.has(e.user.name.toLowerCase()));
  const created = await createUsers(
    tx,
    ctx,
    orgId,
    fresh.map(({ user, field }) => ({ ...userChanges(user, field), username: user.name, source: "ranger-usersync" })),
  );
  for (const [i, view] of created.entries()) {
    if (fresh[i]?.user.isVisible !== 0) continue;
    const row = await tx.selectFrom("users").where("id", "=", view.id).selectAll().executeTakeFirstOrThrow();
    await setUserHidden(tx, ctx, row, true);
  }
  for (const { user, field } of entries) {
    const current = existing.get(user.name.toLowerCase());
    if (current) await upsertRangerUser(tx, ctx, orgId, user, "ranger-usersync", current, field);
  }
  return valid;
}

/**
 * `POST ugsync/groups`: creates or updates each group by name. Ranger skips an entry whose name is
 * missing, blank or `null`, silently, and still counts it: the answer is the size of the list. A
 * name that breaks Gatehouse's group-name rules (`/`, control characters, edge spaces, the
 * organisation's pattern) fails the batch with a 400 naming the entry, before anything is written.
 * New groups are created together (`createGroups`); existing ones are updated one by one, only
 * when something changes. A name given twice ends with its last entry.
 */
export async function syncGroups(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  groups: (RangerGroupInput | null)[],
): Promise<number> {
  const rules = await orgRulesOf(tx, orgId, "body");
  const last = new Map<string, { group: RangerGroupInput & { name: string }; field: string }>();
  groups.forEach((g, i) => {
    if (!g || !isValidName(g.name)) return;
    checkGroupName(g.name, rules.groupNamePattern, `body.vXGroups[${i}].name`);
    const name = normaliseName(g.name);
    last.set(name.toLowerCase(), { group: { ...g, name }, field: `body.vXGroups[${i}]` });
  });
  const entries = [...last.values()];
  const existing = await groupsByName(
    tx,
    orgId,
    entries.map((e) => e.group.name),
  );
  const fresh = entries.filter((e) => !existing.has(e.group.name.toLowerCase()));
  const created = await createGroups(
    tx,
    ctx,
    orgId,
    fresh.map(({ group, field }) => ({
      name: group.name,
      description: group.description ?? group.name,
      source: "ranger-usersync" as const,
      ...groupFields(group, field),
    })),
    "body.vXGroups",
  );
  for (const [i, view] of created.entries()) {
    if (fresh[i]?.group.isVisible !== 0) continue;
    const row = await tx.selectFrom("groups").where("id", "=", view.id).selectAll().executeTakeFirstOrThrow();
    await setGroupHidden(tx, ctx, row, true);
  }
  for (const { group, field } of entries) {
    const current = existing.get(group.name.toLowerCase());
    if (current) await upsertRangerGroup(tx, ctx, orgId, group, "ranger-usersync", current, field);
  }
  return groups.length;
}

/** Ranger's `GroupUserInfo`: usernames to add to and remove from the group named `groupName`. */
export interface GroupUserInfo {
  groupName?: string | null | undefined;
  addUsers?: string[] | null | undefined;
  delUsers?: string[] | null | undefined;
}

/**
 * `POST ugsync/groupusers`: applies each group's `addUsers` and `delUsers` as direct memberships.
 * Ranger's silent skips: an entry with neither list, or naming an unknown group, is skipped and
 * not counted; unknown usernames in either list are ignored; a name in both lists ends up
 * removed (Ranger applies the adds, then the removals). The answer is the number of groups
 * updated. Removing a user who is a member only through a subgroup changes nothing.
 */
export async function syncGroupUsers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  infos: (GroupUserInfo | null)[],
): Promise<number> {
  const wanted = infos.filter(
    (g): g is GroupUserInfo & { groupName: string } =>
      !!g && isValidName(g.groupName) && ((g.addUsers?.length ?? 0) > 0 || (g.delUsers?.length ?? 0) > 0),
  );
  const groups = await groupsByName(
    tx,
    orgId,
    wanted.map((g) => g.groupName),
  );
  const users = await usersByName(tx, orgId, [
    ...new Set(wanted.flatMap((g) => [...(g.addUsers ?? []), ...(g.delUsers ?? [])])),
  ]);
  const idsOf = (names: string[] | null | undefined) =>
    (names ?? []).flatMap((n) => {
      const user = users.get(nameKey(String(n)));
      return user ? [user.id] : [];
    });
  const changes: GroupMemberChanges[] = [];
  for (const info of wanted) {
    const group = groups.get(nameKey(info.groupName));
    if (!group) continue;
    const remove = [...new Set(idsOf(info.delUsers))];
    const removing = new Set(remove);
    const add = [...new Set(idsOf(info.addUsers))].filter((id) => !removing.has(id));
    const same = changes.find((c) => c.groupId === group.id);
    if (same) {
      // the group named twice in one batch: later removals win over earlier additions
      same.add = [...new Set([...same.add, ...add])].filter((id) => !removing.has(id));
      same.remove = [...new Set([...same.remove, ...remove])].filter((id) => !add.includes(id));
    } else changes.push({ groupId: group.id, add, remove });
  }
  if (changes.length > 0) await batchMembersMany(tx, ctx, orgId, changes);
  const updated = wanted.filter((info) => groups.has(nameKey(info.groupName))).length;
  return updated;
}

/**
 * `POST ugsync/users/visibility` and `ugsync/groups/visibility`: hides (Ranger's `isVisible` 0) the
 * users or groups named, which usersync reports as deleted from its source. Unknown names are
 * skipped silently; the answer is the number of names sent, as Ranger's.
 */
export async function hideByName(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  kind: "user" | "group",
  names: string[],
): Promise<number> {
  const lower = names.filter((n) => typeof n === "string").map(nameKey);
  const hidden = await sql<{ id: string }>`
    update ${sql.table(kind === "user" ? "users" : "groups")} set hidden = true, updated_at = now()
    where org_id = ${orgId}::uuid and not hidden
      and lower(${sql.ref(kind === "user" ? "username" : "name")}) = any(${lower}::text[])
    returning id`.execute(tx);
  await recordAuditMany(
    tx,
    ctx,
    hidden.rows.map((row) => ({
      action: `${kind}.visibility_changed`,
      targetType: kind,
      targetId: row.id,
      orgId,
      before: { hidden: false },
      after: { hidden: true },
    })),
  );
  return names.length;
}

/**
 * `POST ugsync/auditinfo`: usersync's report of one sync cycle (counts of new, modified and deleted
 * users and groups, its source's details), kept as an audit event `ranger.usersync.cycle`.
 */
export async function recordSyncCycle(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  info: Record<string, unknown>,
): Promise<void> {
  await recordAudit(tx, ctx, {
    action: "ranger.usersync.cycle",
    targetType: "usersync",
    targetId: typeof info.userName === "string" ? info.userName : ctx.actor.name,
    orgId,
    after: info,
  });
}
