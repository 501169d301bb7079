import { sql } from "kysely";
import { type AuditChange, type AuditContext, auditRow, recordAuditMany } from "../../audit/audit.service.ts";
import { createGroups, updateGroup } from "../../directory/groups.service.ts";
import { lockHierarchy, rebuildClosure } from "../../directory/hierarchy.ts";
import type { Tx } from "../../storage/db.ts";
import type { SyncPlan } from "./plan.ts";

/** Above this many parent changes the closure is rebuilt once instead of moved group by group. */
const BULK_MOVES = 50;
/** Memberships per statement (arrays, so no parameter limit; bounded for memory). */
const MEMBER_CHUNK = 50_000;
/** Users per insert statement. */
const USER_CHUNK = 10_000;

/**
 * Writes a plan in the caller's transaction through the directory services (so every change has
 * its audit event and the change feed fires as for any directory write): creates and updates
 * users and groups, disables those that left the directory, adds and removes memberships, moves
 * groups, and records in `identity_sync_entries` which local entry each directory entry is.
 */
export async function applyPlan(
  tx: Tx,
  ctx: AuditContext,
  source: { id: string; orgId: string },
  plan: SyncPlan,
): Promise<void> {
  const orgId = source.orgId;
  const local = new Map<string, string>(); // entry id → local id
  const known = await tx
    .selectFrom("identity_sync_entries")
    .where("source_id", "=", source.id)
    .select(["entry_id", "local_id"])
    .execute();
  for (const r of known) local.set(r.entry_id, r.local_id);

  // ── users ──
  for (let at = 0; at < plan.createUsers.length; at += USER_CHUNK) {
    for (const row of await insertUsers(tx, ctx, orgId, plan.createUsers.slice(at, at + USER_CHUNK))) {
      local.set(row.external_id, row.id);
    }
  }
  if (plan.updateUsers.length > 0) {
    const u = plan.updateUsers;
    await sql`
      update users set username = v.username, email = v.email, display_name = v.display_name, updated_at = now()
      from unnest(${u.map((x) => x.localId)}::uuid[], ${u.map((x) => x.entry.username)}::text[],
                  ${u.map((x) => x.entry.email)}::text[], ${u.map((x) => x.entry.displayName)}::text[])
        as v(id, username, email, display_name)
      where users.id = v.id`.execute(tx);
    await recordAuditMany(
      tx,
      ctx,
      u.map((x) => ({
        action: "user.updated",
        targetType: "user",
        targetId: x.localId,
        orgId,
        before: x.before,
        after: { username: x.entry.username, email: x.entry.email, displayName: x.entry.displayName },
      })),
    );
  }
  await setUserStatus(
    tx,
    ctx,
    orgId,
    plan.enableUsers.map((u) => u.localId),
    "active",
  );
  await setUserStatus(
    tx,
    ctx,
    orgId,
    plan.disableUsers.map((u) => u.localId),
    "disabled",
  );

  // ── groups ──
  const views = await createGroups(
    tx,
    ctx,
    orgId,
    plan.createGroups.map((g) => ({ name: g.name, source: "ldap" as const, externalId: g.entryId })),
  );
  const groupByName = new Map(plan.createGroups.map((g) => [g.name.toLowerCase(), g.entryId]));
  for (const view of views) local.set(groupByName.get(view.name.toLowerCase()) as string, view.id);
  const bound = [
    ...views.map((v) => [v.id, groupByName.get(v.name.toLowerCase()) as string]),
    ...plan.adoptGroups.map((g) => [g.localId, g.entry.entryId]),
  ];
  for (const g of plan.adoptGroups) local.set(g.entry.entryId, g.localId);
  if (bound.length > 0) {
    await sql`
      update groups set identity_source_id = ${source.id}::uuid, source = 'ldap', external_id = v.entry_id
      from unnest(${bound.map((b) => b[0])}::uuid[], ${bound.map((b) => b[1])}::text[]) as v(id, entry_id)
      where groups.id = v.id`.execute(tx);
  }
  for (const g of plan.renameGroups) await updateGroup(tx, ctx, g.localId, { name: g.entry.name });
  await setGroupDisabled(
    tx,
    ctx,
    orgId,
    plan.enableGroups.map((g) => g.localId),
    false,
  );
  await setGroupDisabled(
    tx,
    ctx,
    orgId,
    plan.disableGroups.map((g) => g.localId),
    true,
  );

  // ── what this source manages ──
  if (plan.touched.length > 0) {
    const t = plan.touched;
    for (let at = 0; at < t.length; at += MEMBER_CHUNK) {
      const chunk = t.slice(at, at + MEMBER_CHUNK);
      await sql`
        insert into identity_sync_entries (source_id, kind, entry_id, dn, local_id, digest, present, updated_at)
        select ${source.id}::uuid, kind, entry_id, dn, local_id, digest, true, now()
        from unnest(${chunk.map((x) => x.kind)}::text[], ${chunk.map((x) => x.entryId)}::text[],
                    ${chunk.map((x) => x.dn)}::text[], ${chunk.map((x) => local.get(x.entryId) as string)}::uuid[],
                    ${chunk.map((x) => x.digest)}::text[]) as v(kind, entry_id, dn, local_id, digest)
        on conflict (source_id, kind, entry_id) do update
          set dn = excluded.dn, local_id = excluded.local_id, digest = excluded.digest, present = true, updated_at = now()`.execute(
        tx,
      );
    }
  }
  const gone = [...plan.disableUsers.map((u) => u.entryId), ...plan.disableGroups.map((g) => g.entryId)];
  if (gone.length > 0) {
    await sql`
      update identity_sync_entries set present = false, updated_at = now()
      where source_id = ${source.id}::uuid and entry_id = any(${gone}::text[])`.execute(tx);
  }

  // ── memberships ──
  const pairs = [
    ...plan.addMembers.map(([g, u]) => ({ g, u, add: true })),
    ...plan.removeMembers.map(([g, u]) => ({ g, u, add: false })),
  ];
  for (let at = 0; at < pairs.length; at += MEMBER_CHUNK) {
    await writeMemberships(tx, ctx, orgId, pairs.slice(at, at + MEMBER_CHUNK), local);
  }

  // ── nesting ──
  if (plan.moveGroups.length > 0) {
    await lockHierarchy(tx, orgId, "exclusive");
    if (plan.moveGroups.length <= BULK_MOVES) {
      for (const [g, parent] of plan.moveGroups) {
        await updateGroup(tx, ctx, local.get(g) as string, {
          parentId: parent === null ? null : (local.get(parent) as string),
        });
      }
    } else {
      const ids = plan.moveGroups.map(([g]) => local.get(g) as string);
      const parents = plan.moveGroups.map(([, p]) => (p === null ? null : (local.get(p) as string)));
      const before = await sql<{ id: string; parent_id: string | null }>`
        select id, parent_id from groups where id = any(${ids}::uuid[])`.execute(tx);
      await sql`
        update groups set parent_id = v.parent_id, updated_at = now()
        from unnest(${ids}::uuid[], ${parents}::uuid[]) as v(id, parent_id) where groups.id = v.id`.execute(tx);
      await rebuildClosure(tx, orgId);
      const was = new Map(before.rows.map((r) => [r.id, r.parent_id]));
      await recordAuditMany(
        tx,
        ctx,
        ids.map(
          (id, i): AuditChange => ({
            action: "group.moved",
            targetType: "group",
            targetId: id,
            orgId,
            before: { parentId: was.get(id) ?? null },
            after: { parentId: parents[i] ?? null },
          }),
        ),
      );
    }
  }
}

async function setUserStatus(tx: Tx, ctx: AuditContext, orgId: string, ids: string[], status: "active" | "disabled") {
  if (ids.length === 0) return;
  await tx.updateTable("users").set({ status, updated_at: new Date() }).where("id", "in", ids).execute();
  await recordAuditMany(
    tx,
    ctx,
    ids.map((id) => ({
      action: status === "disabled" ? "user.disabled" : "user.enabled",
      targetType: "user",
      targetId: id,
      orgId,
      before: { status: status === "disabled" ? "active" : "disabled" },
      after: { status, reason: status === "disabled" ? "left the directory" : "back in the directory" },
    })),
  );
}

async function setGroupDisabled(tx: Tx, ctx: AuditContext, orgId: string, ids: string[], disabled: boolean) {
  if (ids.length === 0) return;
  const at = disabled ? new Date() : null;
  await tx.updateTable("groups").set({ disabled_at: at, updated_at: new Date() }).where("id", "in", ids).execute();
  await recordAuditMany(
    tx,
    ctx,
    ids.map((id) => ({
      action: disabled ? "group.disabled" : "group.enabled",
      targetType: "group",
      targetId: id,
      orgId,
      after: {
        disabledAt: at?.toISOString() ?? null,
        reason: disabled ? "left the directory" : "back in the directory",
      },
    })),
  );
}

/**
 * Creates directory users in one statement with their `user.created` events (the set-wise path
 * of `createUsers`, whose chunks of 1,000 with a round trip each were the bulk of a 100,000-user
 * first run). The plan checked every username inside this transaction; a username taken anyway
 * (a concurrent local write) fails the run, which is recorded and retried by the next one.
 */
async function insertUsers(tx: Tx, ctx: AuditContext, orgId: string, users: SyncPlan["createUsers"]) {
  const actor = auditRow(ctx, { action: "user.created", targetType: "user", targetId: null, orgId });
  const rows = await sql<{ id: string; external_id: string }>`
    with v as (
      select * from unnest(${users.map((u) => u.username)}::text[], ${users.map((u) => u.email)}::text[],
                           ${users.map((u) => u.displayName)}::text[], ${users.map((u) => u.entryId)}::text[])
        as v(username, email, display_name, external_id)
    ),
    u as (
      insert into users (org_id, username, email, display_name, source, external_id)
      select ${orgId}::uuid, username, email, display_name, 'ldap', external_id from v
      on conflict do nothing
      returning id, username, email, display_name, status, source, external_id, created_at
    ),
    audited as (
      insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id, org_id,
                                after, request_id, client_ip)
      select ${actor.actor_type}, ${actor.actor_id}, ${actor.actor_name}, ${actor.auth_method}, 'user.created', 'user',
             u.id::text, ${orgId}::uuid,
             jsonb_build_object('id', u.id, 'orgId', ${orgId}::uuid, 'username', u.username, 'email', u.email,
                                'displayName', u.display_name, 'status', u.status, 'source', u.source,
                                'externalId', u.external_id, 'createdAt', u.created_at),
             ${actor.request_id}, ${actor.client_ip}
      from u
    )
    select id, external_id from u`.execute(tx);
  if (rows.rows.length !== users.length) {
    throw new Error(`${users.length - rows.rows.length} usernames were taken while the sync ran`);
  }
  return rows.rows;
}

/**
 * Adds and removes synced memberships set-wise, with one `group.members.synced` event per group
 * listing the users added and removed (a first run of 500,000 memberships writes 10,000 events,
 * not 500,000). Memberships are `member`s; both ends are managed by the source.
 */
async function writeMemberships(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  pairs: { g: string; u: string; add: boolean }[],
  local: Map<string, string>,
) {
  const adds = pairs.filter((p) => p.add);
  const removes = pairs.filter((p) => !p.add);
  const ids = (list: typeof pairs, key: "g" | "u") => list.map((p) => local.get(p[key]) as string);
  if (adds.length > 0) {
    await sql`
      insert into group_members (group_id, user_id, role)
      select g, u, 'member' from unnest(${ids(adds, "g")}::uuid[], ${ids(adds, "u")}::uuid[]) as a(g, u)
      on conflict (group_id, user_id) do nothing`.execute(tx);
  }
  if (removes.length > 0) {
    await sql`
      delete from group_members m using unnest(${ids(removes, "g")}::uuid[], ${ids(removes, "u")}::uuid[]) as r(g, u)
      where m.group_id = r.g and m.user_id = r.u`.execute(tx);
  }
  const byGroup = new Map<string, { added: string[]; removed: string[] }>();
  for (const p of pairs) {
    const groupId = local.get(p.g) as string;
    let entry = byGroup.get(groupId);
    if (!entry) {
      entry = { added: [], removed: [] };
      byGroup.set(groupId, entry);
    }
    (p.add ? entry.added : entry.removed).push(local.get(p.u) as string);
  }
  await recordAuditMany(
    tx,
    ctx,
    [...byGroup].map(([groupId, change]) => ({
      action: "group.members.synced",
      targetType: "group",
      targetId: groupId,
      orgId,
      after: { groupId, addedUserIds: change.added, removedUserIds: change.removed },
    })),
  );
}
