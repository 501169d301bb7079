import { sql } from "kysely";
import { type AuditContext, recordAudit } from "../../audit/audit.service.ts";
import { checkGroupName } from "../../directory/group-names.ts";
import { batchMembers } from "../../directory/members.service.ts";
import { orgRulesOf } from "../../directory/org-rules.ts";
import type { Tx } from "../../storage/db.ts";
import type { GroupRow, UserRow } from "../../storage/schema.ts";
import {
  isValidName,
  type RangerGroupInput,
  type RangerUserInput,
  setGroupHidden,
  setUserHidden,
  upsertRangerGroup,
  upsertRangerUser,
} from "./xusers.service.ts";

// Ranger usersync's bulk endpoints (XUserREST `ugsync/...`, XUserMgr.createOrUpdateXUsers,
// createOrUpdateXGroups, createOrDeleteXGroupUserList, updateDeletedUsers/Groups), as
// PolicyMgrUserGroupBuilder calls them: batches of up to `maxrecordsperapicall` (1,000) entries,
// each answered with a count that usersync parses as an integer. Each batch is one transaction of
// the directory's own writes, each audited; Ranger's silent skips are kept and listed in
// docs/compat.md.

async function usersByName(tx: Tx, orgId: string, names: string[]): Promise<Map<string, UserRow>> {
  if (names.length === 0) return new Map();
  const rows = await sql<UserRow>`select * from users where org_id = ${orgId}::uuid
    and lower(username) = any(${names.map((n) => n.toLowerCase())}::text[])`.execute(tx);
  return new Map(rows.rows.map((r) => [r.username.toLowerCase(), r]));
}

async function groupsByName(tx: Tx, orgId: string, names: string[]): Promise<Map<string, GroupRow>> {
  if (names.length === 0) return new Map();
  const rows = await sql<GroupRow>`select * from groups where org_id = ${orgId}::uuid
    and lower(name) = any(${names.map((n) => n.toLowerCase())}::text[])`.execute(tx);
  return new Map(rows.rows.map((r) => [r.name.toLowerCase(), r]));
}

/**
 * `POST ugsync/users`: creates or updates each user by name. Ranger skips, silently and uncounted,
 * an entry whose name or first name is missing, blank or `null`; the answer is the number of
 * users written (usersync treats 0 as a failure only when it sent some).
 */
export async function syncUsers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  users: (RangerUserInput | null)[],
): Promise<number> {
  const valid = users.flatMap((u, i) =>
    u && isValidName(u.name) && isValidName(u.firstName) ? [{ user: { ...u, name: u.name }, i }] : [],
  );
  const existing = await usersByName(
    tx,
    orgId,
    valid.map((v) => v.user.name),
  );
  for (const { user, i } of valid) {
    const key = user.name.toLowerCase();
    const id = await upsertRangerUser(tx, ctx, orgId, user, "ranger-usersync", existing.get(key), `body.vXUsers[${i}]`);
    // a name repeated in one batch updates the user created by its first occurrence
    if (!existing.has(key)) {
      const row = await tx.selectFrom("users").where("id", "=", id).selectAll().executeTakeFirstOrThrow();
      existing.set(key, row);
    }
  }
  return valid.length;
}

/**
 * `POST ugsync/groups`: creates or updates each group by name. Ranger skips an entry whose name is
 * missing, blank or `null`, silently, and still counts it: the answer is the size of the list. A
 * name that breaks Gatehouse's group-name rules (`/`, control characters, edge spaces, the
 * organisation's pattern) fails the batch with a 400 naming the entry, before anything is written.
 */
export async function syncGroups(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  groups: (RangerGroupInput | null)[],
): Promise<number> {
  const valid = groups.flatMap((g, i) => (g && isValidName(g.name) ? [{ group: { ...g, name: g.name }, i }] : []));
  const rules = await orgRulesOf(tx, orgId, "body");
  for (const { group, i } of valid) checkGroupName(group.name, rules.groupNamePattern, `body.vXGroups[${i}].name`);
  const existing = await groupsByName(
    tx,
    orgId,
    valid.map((v) => v.group.name),
  );
  for (const { group, i } of valid) {
    const key = group.name.toLowerCase();
    const id = await upsertRangerGroup(
      tx,
      ctx,
      orgId,
      group,
      "ranger-usersync",
      existing.get(key),
      `body.vXGroups[${i}]`,
    );
    if (!existing.has(key)) {
      const row = await tx.selectFrom("groups").where("id", "=", id).selectAll().executeTakeFirstOrThrow();
      existing.set(key, row);
    }
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
      const user = users.get(String(n).toLowerCase());
      return user ? [user.id] : [];
    });
  let updated = 0;
  for (const info of wanted) {
    const group = groups.get(info.groupName.toLowerCase());
    if (!group) continue;
    const remove = [...new Set(idsOf(info.delUsers))];
    const removing = new Set(remove);
    const add = [...new Set(idsOf(info.addUsers))].filter((id) => !removing.has(id));
    if (add.length > 0 || remove.length > 0) await batchMembers(tx, ctx, group.id, { add, remove });
    updated++;
  }
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
  const valid = names.filter((n) => typeof n === "string");
  if (kind === "user") {
    for (const user of (await usersByName(tx, orgId, valid)).values()) await setUserHidden(tx, ctx, user, true);
  } else {
    for (const group of (await groupsByName(tx, orgId, valid)).values()) await setGroupHidden(tx, ctx, group, true);
  }
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
