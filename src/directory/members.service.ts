import { sql } from "kysely";
import { type AuditContext, auditRow, recordAudit, recordAuditMany } from "../audit/audit.service.ts";
import { LastOwner, MemberNotFound, ReferenceNotFound, ValidationFailed } from "../errors.ts";
import type { Tx } from "../storage/db.ts";
import { fail } from "./fail.ts";
import { getGroupRow } from "./groups.service.ts";

/** A member's role in a group: owners manage the group, members belong to it. */
export type MemberRole = "owner" | "member";

/** Largest `add` or `remove` list of one batch. */
export const BATCH_MAX = 10_000;

/** A direct membership as the API shows it. */
export interface MembershipView {
  groupId: string;
  userId: string;
  role: MemberRole;
}

/** What a batch changed; `unchanged` counts adds of members already in and removes of non-members. */
export interface BatchResult {
  added: number;
  removed: number;
  unchanged: number;
}

/**
 * Locks the group row, then refuses when the group would have no owner left. Every change that
 * can lower the owner count goes through here, so concurrent demotions serialise on the row and
 * the last owner can never disappear between a check and a write (Frontier's TOCTOU guard).
 */
async function guardLastOwner(tx: Tx, groupId: string, losing: number, field: string): Promise<void> {
  await sql`select id from groups where id = ${groupId}::uuid for update`.execute(tx);
  const row = await tx
    .selectFrom("group_members")
    .where("group_id", "=", groupId)
    .where("role", "=", "owner")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  const owners = Number(row.n);
  if (owners > 0 && owners - losing < 1) {
    throw fail(LastOwner, field, "lastOwner", "the group must keep at least one owner; add another owner first", {
      owners,
    });
  }
}

/**
 * Adds a user to a group or changes its role (idempotent: PUT semantics). Demoting the last owner
 * is refused.
 *
 * @throws REFERENCE_NOT_FOUND when the user is not in the group's organisation; GROUP_LAST_OWNER (409).
 */
export async function putMember(
  tx: Tx,
  ctx: AuditContext,
  groupId: string,
  userId: string,
  role: MemberRole = "member",
): Promise<{ membership: MembershipView; created: boolean }> {
  const group = await getGroupRow(tx, groupId);
  const user = await tx.selectFrom("users").where("id", "=", userId).select(["id", "org_id"]).executeTakeFirst();
  if (!user || user.org_id !== group.org_id) {
    throw fail(ReferenceNotFound, "path.userId", "exists", `user \`${userId}\` not found in the group's organisation`);
  }
  const current = await tx
    .selectFrom("group_members")
    .where("group_id", "=", groupId)
    .where("user_id", "=", userId)
    .select("role")
    .forUpdate()
    .executeTakeFirst();
  const membership = { groupId, userId, role };
  if (current?.role === role) return { membership, created: false };
  if (current?.role === "owner") await guardLastOwner(tx, groupId, 1, "body.role");
  await tx
    .insertInto("group_members")
    .values({ group_id: groupId, user_id: userId, role })
    .onConflict((oc) => oc.columns(["group_id", "user_id"]).doUpdateSet({ role }))
    .execute();
  await recordAudit(tx, ctx, {
    action: current ? "group.member.role_changed" : "group.member.added",
    targetType: "group",
    targetId: groupId,
    orgId: group.org_id,
    before: current ? { groupId, userId, role: current.role } : null,
    after: membership,
  });
  return { membership, created: !current };
}

/**
 * Removes a user from a group.
 *
 * @throws MEMBER_NOT_FOUND (404) when the user is not a direct member; GROUP_LAST_OWNER (409).
 */
export async function removeMember(tx: Tx, ctx: AuditContext, groupId: string, userId: string): Promise<void> {
  const group = await getGroupRow(tx, groupId);
  const current = await tx
    .selectFrom("group_members")
    .where("group_id", "=", groupId)
    .where("user_id", "=", userId)
    .select("role")
    .forUpdate()
    .executeTakeFirst();
  if (!current) {
    throw fail(MemberNotFound, "path.userId", "member", `user \`${userId}\` is not a direct member of the group`);
  }
  if (current.role === "owner") await guardLastOwner(tx, groupId, 1, "path.userId");
  await tx.deleteFrom("group_members").where("group_id", "=", groupId).where("user_id", "=", userId).execute();
  await recordAudit(tx, ctx, {
    action: "group.member.removed",
    targetType: "group",
    targetId: groupId,
    orgId: group.org_id,
    before: { groupId, userId, role: current.role },
  });
}

/**
 * Adds and removes up to 10,000 users each in one transaction: either every change applies or
 * none does. Unknown users are refused before anything is written, naming their position in the
 * list; each membership change still gets its own audit event (written with multi-row inserts).
 *
 * @throws VALIDATION_FAILED when a user is both added and removed; REFERENCE_NOT_FOUND naming
 * `body.add[i]`; GROUP_LAST_OWNER when the removals would leave no owner.
 */
export async function batchMembers(
  tx: Tx,
  ctx: AuditContext,
  groupId: string,
  input: { add?: string[] | undefined; remove?: string[] | undefined; role?: MemberRole | undefined },
): Promise<BatchResult> {
  const group = await getGroupRow(tx, groupId);
  const add = [...new Set(input.add ?? [])];
  const remove = [...new Set(input.remove ?? [])];
  const removing = new Set(remove);
  const both = add.findIndex((id) => removing.has(id));
  if (both >= 0) {
    throw fail(ValidationFailed, `body.add[${both}]`, "disjoint", `user \`${add[both]}\` is both added and removed`);
  }
  const role = input.role ?? "member";
  if (add.length > 0) {
    const found = await sql<{ id: string }>`
      select id from users where id = any(${add}::uuid[]) and org_id = ${group.org_id}::uuid`.execute(tx);
    if (found.rows.length !== add.length) {
      const known = new Set(found.rows.map((r) => r.id));
      const index = (input.add ?? []).findIndex((id) => !known.has(id));
      throw fail(
        ReferenceNotFound,
        `body.add[${index}]`,
        "exists",
        `user \`${(input.add ?? [])[index]}\` not found in the group's organisation`,
      );
    }
  }
  let removedRows: { user_id: string; role: MemberRole }[] = [];
  if (remove.length > 0) {
    const owners = await sql<{ n: number }>`
      select count(*)::int as n from group_members
      where group_id = ${groupId}::uuid and role = 'owner' and user_id = any(${remove}::uuid[])`.execute(tx);
    const losing = Number(owners.rows[0]?.n ?? 0);
    if (losing > 0) await guardLastOwner(tx, groupId, losing, "body.remove");
    removedRows = (
      await sql<{ user_id: string; role: MemberRole }>`
        delete from group_members where group_id = ${groupId}::uuid and user_id = any(${remove}::uuid[])
        returning user_id, role`.execute(tx)
    ).rows;
  }
  let addedRows: { user_id: string }[] = [];
  if (add.length > 0) {
    addedRows = (
      await sql<{ user_id: string }>`
        insert into group_members (group_id, user_id, role)
        select ${groupId}::uuid, u, ${role} from unnest(${add}::uuid[]) as u
        on conflict (group_id, user_id) do nothing
        returning user_id`.execute(tx)
    ).rows;
  }
  await recordAuditMany(tx, ctx, [
    ...addedRows.map((r) => ({
      action: "group.member.added",
      targetType: "group",
      targetId: groupId,
      orgId: group.org_id,
      after: { groupId, userId: r.user_id, role },
    })),
    ...removedRows.map((r) => ({
      action: "group.member.removed",
      targetType: "group",
      targetId: groupId,
      orgId: group.org_id,
      before: { groupId, userId: r.user_id, role: r.role },
    })),
  ]);
  return {
    added: addedRows.length,
    removed: removedRows.length,
    unchanged: add.length + remove.length - addedRows.length - removedRows.length,
  };
}

/** One group's share of `batchMembersMany`: users (ids) to add as members and to remove. */
export interface GroupMemberChanges {
  groupId: string;
  add: string[];
  remove: string[];
}

/**
 * `batchMembers` for many groups of one organisation at once, set-based, for bulk pushes (Ranger
 * usersync sends the memberships of up to 1,000 groups a call, 50 each and more): the same rules
 * (groups and users of the organisation, a user not both added and removed in one group, adds as
 * `member`, existing memberships and absent ones unchanged, the last owner kept) and the same
 * `group.member.added`/`removed` events, each written by one statement for the whole call instead
 * of a few per group.
 *
 * @throws REFERENCE_NOT_FOUND for a group or user outside the organisation; VALIDATION_FAILED for a
 * user both added and removed; GROUP_LAST_OWNER when removals would leave a group without owner.
 */
export async function batchMembersMany(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  changes: GroupMemberChanges[],
): Promise<BatchResult> {
  const addGroups: string[] = [];
  const addUsers: string[] = [];
  const removeGroups: string[] = [];
  const removeUsers: string[] = [];
  for (const [i, change] of changes.entries()) {
    const removing = new Set(change.remove);
    for (const userId of new Set(change.add)) {
      if (removing.has(userId)) {
        throw fail(ValidationFailed, `changes[${i}].add`, "disjoint", `user \`${userId}\` is both added and removed`);
      }
      addGroups.push(change.groupId);
      addUsers.push(userId);
    }
    for (const userId of removing) {
      removeGroups.push(change.groupId);
      removeUsers.push(userId);
    }
  }
  const groupIds = [...new Set(changes.map((c) => c.groupId))];
  const userIds = [...new Set([...addUsers, ...removeUsers])];
  const known = await sql<{ groups: number; users: number }>`
    select (select count(*)::int from groups where id = any(${groupIds}::uuid[]) and org_id = ${orgId}::uuid) as groups,
           (select count(*)::int from users where id = any(${userIds}::uuid[]) and org_id = ${orgId}::uuid) as users`.execute(
    tx,
  );
  if (Number(known.rows[0]?.groups) !== groupIds.length || Number(known.rows[0]?.users) !== userIds.length) {
    throw fail(ReferenceNotFound, "changes", "exists", "a group or user is not in the organisation");
  }
  let removed: { group_id: string; user_id: string; role: MemberRole }[] = [];
  if (removeUsers.length > 0) {
    const owners = await sql<{ group_id: string; n: number }>`
      select m.group_id, count(*)::int as n from group_members m
      join unnest(${removeGroups}::uuid[], ${removeUsers}::uuid[]) as r(g, u) on m.group_id = r.g and m.user_id = r.u
      where m.role = 'owner' group by m.group_id`.execute(tx);
    for (const row of owners.rows) await guardLastOwner(tx, row.group_id, Number(row.n), "changes.remove");
    removed = (
      await sql<{ group_id: string; user_id: string; role: MemberRole }>`
        delete from group_members m using unnest(${removeGroups}::uuid[], ${removeUsers}::uuid[]) as r(g, u)
        where m.group_id = r.g and m.user_id = r.u
        returning m.group_id, m.user_id, m.role`.execute(tx)
    ).rows;
  }
  let added: { group_id: string; user_id: string }[] = [];
  if (addUsers.length > 0) {
    added = (
      await sql<{ group_id: string; user_id: string }>`
        insert into group_members (group_id, user_id, role)
        select g, u, 'member' from unnest(${addGroups}::uuid[], ${addUsers}::uuid[]) as a(g, u)
        on conflict (group_id, user_id) do nothing
        returning group_id, user_id`.execute(tx)
    ).rows;
  }
  await recordMembershipEvents(tx, ctx, orgId, "group.member.added", added, null);
  await recordMembershipEvents(tx, ctx, orgId, "group.member.removed", removed, removed);
  return {
    added: added.length,
    removed: removed.length,
    unchanged: addUsers.length + removeUsers.length - added.length - removed.length,
  };
}

/** One audit statement for many membership events (`after` for additions, `before` for removals). */
async function recordMembershipEvents(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  action: "group.member.added" | "group.member.removed",
  rows: { group_id: string; user_id: string; role?: MemberRole }[],
  before: unknown,
): Promise<void> {
  if (rows.length === 0) return;
  const actor = auditRow(ctx, { action, targetType: "group", targetId: null, orgId });
  const groups = rows.map((r) => r.group_id);
  const users = rows.map((r) => r.user_id);
  const roles = rows.map((r) => r.role ?? "member");
  const change = sql`jsonb_build_object('groupId', e.g, 'userId', e.u, 'role', e.r)`;
  await sql`
    insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id, org_id,
                              before, after, request_id, client_ip)
    select ${actor.actor_type}, ${actor.actor_id}, ${actor.actor_name}, ${actor.auth_method}, ${action}, 'group',
           e.g::text, ${orgId}::uuid, ${before ? change : sql`null`}, ${before ? sql`null` : change},
           ${actor.request_id}, ${actor.client_ip}
    from unnest(${groups}::uuid[], ${users}::uuid[], ${roles}::text[]) as e(g, u, r)`.execute(tx);
}
