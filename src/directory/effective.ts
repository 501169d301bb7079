import { sql } from "kysely";
import { decodeCursor, encodeCursor, pageOf } from "../http/cursor.ts";
import type { Queryable } from "../storage/db.ts";
import type { GroupRow, UserRow } from "../storage/schema.ts";
import type { MemberRole } from "./members.service.ts";

// Effective membership = direct memberships joined with the group closure table. The closure
// is maintained in the same transaction as every hierarchy change, so reads are one indexed join
// (user → direct groups → ancestors) instead of a recursive walk; docs/directory.md has the
// measurements behind the choice.

/** One page of a list with its total. */
export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
}

type Cursor = { k: string; id: string };

function after(cursor: string | undefined): Cursor | null {
  return cursor ? decodeCursor<Cursor>(cursor, ["k", "id"]) : null;
}

/** A group a user belongs to; `direct` is false when only a subgroup holds the user. */
export type UserGroupRow = GroupRow & { direct: boolean; role: MemberRole | null };

/**
 * The groups of a user, ordered by name: direct memberships only, or (effective) every ancestor of
 * those groups as well. One statement computes the page and the total.
 */
export async function groupsOfUser(
  db: Queryable,
  userId: string,
  options: { effective: boolean; limit: number; cursor?: string | undefined },
): Promise<PageResult<UserGroupRow>> {
  const position = after(options.cursor);
  const source = options.effective
    ? sql`select c.ancestor_id as group_id, bool_or(c.depth = 0) as direct,
               max(case when c.depth = 0 then m.role end) as role
          from group_members m join group_closure c on c.descendant_id = m.group_id
          where m.user_id = ${userId}::uuid group by c.ancestor_id`
    : sql`select m.group_id, true as direct, m.role from group_members m where m.user_id = ${userId}::uuid`;
  const rows = await sql<UserGroupRow & { total: number }>`
    with mine as (${source})
    select g.*, mine.direct, mine.role, (select count(*) from mine)::int as total
    from mine join groups g on g.id = mine.group_id
    ${position ? sql`where (lower(g.name), g.id) > (${position.k}, ${position.id}::uuid)` : sql``}
    order by lower(g.name), g.id
    limit ${options.limit + 1}`.execute(db);
  return pageWithTotal(rows.rows, options.limit, (r) => ({ k: r.name.toLowerCase(), id: r.id }));
}

/** A member of a group; `direct` is false for members of subgroups only. */
export type MemberRow = UserRow & { direct: boolean; role: MemberRole | null };

/**
 * The members of a group, ordered by user id (keyset): direct members, or (effective) members of
 * the group and of every group below it, each user once. `usernamePrefix` filters
 * case-insensitively.
 */
export async function membersOfGroup(
  db: Queryable,
  groupId: string,
  options: { effective: boolean; limit: number; cursor?: string | undefined; usernamePrefix?: string | undefined },
): Promise<PageResult<MemberRow>> {
  const position = options.cursor ? decodeCursor<{ id: string }>(options.cursor, ["id"]) : null;
  const source = options.effective
    ? sql`select m.user_id, bool_or(m.group_id = ${groupId}::uuid) as direct,
               max(case when m.group_id = ${groupId}::uuid then m.role end) as role
          from group_closure c join group_members m on m.group_id = c.descendant_id
          where c.ancestor_id = ${groupId}::uuid group by m.user_id`
    : sql`select m.user_id, true as direct, m.role from group_members m where m.group_id = ${groupId}::uuid`;
  // The filter needs usernames; without it the users table is only read for the rows of the page.
  const members = options.usernamePrefix
    ? sql`select mem.* from (${source}) mem join users u on u.id = mem.user_id
          where lower(u.username) like ${`${escapeLike(options.usernamePrefix.toLowerCase())}%`}`
    : source;
  const rows = await sql<MemberRow & { total: number }>`
    with mem as (${members}),
    page as (
      select * from mem ${position ? sql`where user_id > ${position.id}::uuid` : sql``}
      order by user_id limit ${options.limit + 1}
    )
    select u.*, page.direct, page.role, (select count(*) from mem)::int as total
    from page join users u on u.id = page.user_id order by u.id`.execute(db);
  let total = Number(rows.rows[0]?.total ?? 0);
  if (rows.rows.length === 0 && position) {
    const counted = await sql<{ n: number }>`with mem as (${members}) select count(*)::int as n from mem`.execute(db);
    total = Number(counted.rows[0]?.n ?? 0);
  }
  const kept = pageOf(rows.rows, options.limit, (row) => ({ id: row.id }));
  return { items: kept.rows.map(({ total: _total, ...row }) => row), nextCursor: kept.nextCursor, total };
}

/** One role a user holds, with how it reaches the user. */
export interface HeldRole {
  roleId: string;
  roleName: string;
  builtin: boolean;
  permissions: string[];
  bindingId: string;
  scopeType: "org" | "service" | "resource";
  scope: string;
  allowAllObjects: boolean;
  /** The principal the binding names: the user, or one of its effective groups. */
  viaPrincipalType: "user" | "group";
  viaPrincipalId: string;
  /** Set when the role is held because a composite role includes it. */
  viaRoleId: string | null;
}

/**
 * Every role a user holds: bindings of the user and (effective) of each effective group, then the
 * roles those bundle through composites, to any depth (`union` stops at repeats).
 */
export async function rolesOfUser(db: Queryable, userId: string, effective: boolean): Promise<HeldRole[]> {
  const principals = effective
    ? sql`select 'user'::text as type, ${userId}::uuid as id
          union
          select 'group', c.ancestor_id from group_members m
          join group_closure c on c.descendant_id = m.group_id where m.user_id = ${userId}::uuid`
    : sql`select 'user'::text as type, ${userId}::uuid as id`;
  const composites = effective
    ? sql`union
          select rc.child_role_id, h.binding_id, h.role_id from held h
          join role_composites rc on rc.role_id = h.role_id`
    : sql``;
  const rows = await sql<HeldRole>`
    with recursive principals as (${principals}),
    held(role_id, binding_id, via_role_id) as (
      select b.role_id, b.id, null::uuid from role_bindings b
      join principals p on b.principal_type = p.type and b.principal_id = p.id
      ${composites}
    )
    select r.id as "roleId", r.name as "roleName", r.builtin, r.permissions, b.id as "bindingId",
           b.scope_type as "scopeType", b.scope, b.allow_all_objects as "allowAllObjects",
           b.principal_type as "viaPrincipalType", b.principal_id as "viaPrincipalId", h.via_role_id as "viaRoleId"
    from held h join roles r on r.id = h.role_id join role_bindings b on b.id = h.binding_id
    order by lower(r.name), b.id, h.via_role_id nulls first`.execute(db);
  return rows.rows;
}

/** Pages an in-memory list (small lists such as a user's roles) with an index cursor. */
export function pageArray<T>(items: T[], limit: number, cursor: string | undefined): PageResult<T> {
  const start = cursor ? Number(decodeCursor<{ i: number }>(cursor, ["i"]).i) : 0;
  const slice = items.slice(start, start + limit);
  return {
    items: slice,
    nextCursor: start + limit < items.length ? encodeCursor({ i: start + limit }) : null,
    total: items.length,
  };
}

function pageWithTotal<R extends { total: number }>(
  rows: R[],
  limit: number,
  positionOf: (row: R) => Cursor,
): PageResult<Omit<R, "total">> {
  const kept = pageOf(rows, limit, positionOf);
  return {
    items: kept.rows.map(({ total: _t, ...rest }) => rest),
    nextCursor: kept.nextCursor,
    total: Number(rows[0]?.total ?? 0),
  };
}

/** Escapes `%`, `_` and `\` for a LIKE pattern. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
