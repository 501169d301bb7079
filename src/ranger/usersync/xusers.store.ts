import { type RawBuilder, sql } from "kysely";
import { escapeLike } from "../../directory/effective.ts";
import type { Queryable } from "../../storage/db.ts";
import type { GroupRow } from "../../storage/schema.ts";
import type { GroupUserRow, RangerPage, UserWithGroups } from "./xusers.model.ts";

// The reads of Ranger's user and group API over the directory tables. Ranger's groups are flat;
// a Gatehouse group's members here are its effective members (members of its subgroups too), and
// a user's groups are its effective groups, as decisions see them.

/** Ranger's user search filters (`XUserService.searchFields`). */
export interface UserFilter {
  /** Case-insensitive substring of the username (Ranger: PARTIAL); an exact match comes first. */
  name?: string | undefined;
  emailAddress?: string | undefined;
  isVisible?: number | undefined;
  status?: number | undefined;
  userSource?: number | undefined;
  syncSource?: string | undefined;
}

/** Ranger's group search filters (`XGroupService.searchFields`). */
export interface GroupFilter {
  name?: string | undefined;
  isVisible?: number | undefined;
  groupSource?: number | undefined;
  syncSource?: string | undefined;
  /** Groups of the user with this number (effective). */
  userId?: number | undefined;
}

const contains = (value: string) => `%${escapeLike(value.toLowerCase())}%`;

function where(conditions: RawBuilder<unknown>[]) {
  return conditions.length ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
}

/** The effective groups of user `u`, as two arrays ordered by name (a lateral subquery). */
const effectiveGroups = sql`
  left join lateral (
    select array_agg(g.name order by lower(g.name)) as group_names, array_agg(g.num order by lower(g.name)) as group_nums
    from groups g
    where g.id in (select c.ancestor_id from group_members m join group_closure c on c.descendant_id = m.group_id
                   where m.user_id = u.id)
  ) eg on true`;

/** One user (by number, name or uuid) with its effective groups, or undefined. */
export async function findUser(
  db: Queryable,
  orgId: string,
  by: { num: number } | { name: string } | { id: string },
): Promise<UserWithGroups | undefined> {
  const match =
    "num" in by
      ? sql`u.num = ${by.num}`
      : "id" in by
        ? sql`u.id = ${by.id}::uuid`
        : sql`lower(u.username) = ${by.name.toLowerCase()}`;
  const rows = await sql<UserWithGroups>`
    select u.*, coalesce(eg.group_names, '{}') as group_names, coalesce(eg.group_nums, '{}') as group_nums
    from users u ${effectiveGroups}
    where u.org_id = ${orgId}::uuid and ${match}`.execute(db);
  return rows.rows[0];
}

/** One page of users with the total matching `filter`, ordered as Ranger orders (name by default). */
export async function searchUsers(
  db: Queryable,
  orgId: string,
  filter: UserFilter,
  page: RangerPage,
): Promise<{ rows: UserWithGroups[]; total: number }> {
  const conditions: RawBuilder<unknown>[] = [sql`u.org_id = ${orgId}::uuid`];
  if (filter.name) conditions.push(sql`lower(u.username) like ${contains(filter.name)}`);
  if (filter.emailAddress) conditions.push(sql`lower(u.email) like ${contains(filter.emailAddress)}`);
  if (filter.isVisible !== undefined) conditions.push(sql`u.hidden = ${filter.isVisible === 0}`);
  if (filter.status !== undefined) conditions.push(sql`u.status = ${filter.status === 1 ? "active" : "disabled"}`);
  if (filter.userSource !== undefined) {
    conditions.push(filter.userSource === 0 ? sql`u.source = 'local'` : sql`u.source <> 'local'`);
  }
  if (filter.syncSource) conditions.push(sql`lower(u.attributes->>'sync_source') like ${contains(filter.syncSource)}`);
  const exactFirst = filter.name ? sql`(lower(u.username) = ${filter.name.toLowerCase()}) desc,` : sql``;
  const direction = page.sortType === "desc" ? sql`desc` : sql`asc`;
  const order = page.sortBy === "id" ? sql`u.num ${direction}` : sql`lower(u.username) ${direction}, u.num`;
  const [rows, count] = await Promise.all([
    sql<UserWithGroups>`
      with page as (
        select u.* from users u ${where(conditions)}
        order by ${exactFirst} ${order} limit ${page.pageSize} offset ${page.startIndex}
      )
      select u.*, coalesce(eg.group_names, '{}') as group_names, coalesce(eg.group_nums, '{}') as group_nums
      from page u ${effectiveGroups}
      order by ${exactFirst} ${order}`.execute(db),
    sql<{ n: number }>`select count(*)::int as n from users u ${where(conditions)}`.execute(db),
  ]);
  return { rows: rows.rows, total: Number(count.rows[0]?.n ?? 0) };
}

/** One group (by number, name or uuid), or undefined. */
export async function findGroup(
  db: Queryable,
  orgId: string,
  by: { num: number } | { name: string } | { id: string },
): Promise<GroupRow | undefined> {
  let query = db.selectFrom("groups").where("org_id", "=", orgId).selectAll();
  if ("num" in by) query = query.where("num", "=", by.num);
  else if ("id" in by) query = query.where("id", "=", by.id);
  else query = query.where((eb) => eb(eb.fn("lower", ["name"]), "=", by.name.toLowerCase()));
  return query.executeTakeFirst();
}

/** One page of groups with the total matching `filter`. */
export async function searchGroups(
  db: Queryable,
  orgId: string,
  filter: GroupFilter,
  page: RangerPage,
): Promise<{ rows: GroupRow[]; total: number }> {
  const conditions: RawBuilder<unknown>[] = [sql`g.org_id = ${orgId}::uuid`];
  if (filter.name) conditions.push(sql`lower(g.name) like ${contains(filter.name)}`);
  if (filter.isVisible !== undefined) conditions.push(sql`g.hidden = ${filter.isVisible === 0}`);
  if (filter.groupSource !== undefined) {
    conditions.push(filter.groupSource === 0 ? sql`g.source = 'local'` : sql`g.source <> 'local'`);
  }
  if (filter.syncSource) {
    conditions.push(sql`lower(g.metadata->'rangerAttributes'->>'sync_source') like ${contains(filter.syncSource)}`);
  }
  if (filter.userId !== undefined) {
    conditions.push(sql`g.id in (select c.ancestor_id from users u join group_members m on m.user_id = u.id
      join group_closure c on c.descendant_id = m.group_id where u.num = ${filter.userId})`);
  }
  const exactFirst = filter.name ? sql`(lower(g.name) = ${filter.name.toLowerCase()}) desc,` : sql``;
  const direction = page.sortType === "desc" ? sql`desc` : sql`asc`;
  const order = page.sortBy === "id" ? sql`g.num ${direction}` : sql`lower(g.name) ${direction}, g.num`;
  const [rows, count] = await Promise.all([
    sql<GroupRow>`select g.* from groups g ${where(conditions)}
      order by ${exactFirst} ${order} limit ${page.pageSize} offset ${page.startIndex}`.execute(db),
    sql<{ n: number }>`select count(*)::int as n from groups g ${where(conditions)}`.execute(db),
  ]);
  return { rows: rows.rows, total: Number(count.rows[0]?.n ?? 0) };
}

const groupUserColumns = sql`m.num, g.name as group_name, g.num as group_num, u.num as user_num, m.created_at
  from group_members m join groups g on g.id = m.group_id join users u on u.id = m.user_id`;

/** Direct memberships filtered by user and group numbers (Ranger's `xUserId`, `xGroupId`), by id. */
export async function searchGroupUsers(
  db: Queryable,
  orgId: string,
  filter: { xUserId?: number | undefined; xGroupId?: number | undefined },
  page: RangerPage,
): Promise<{ rows: GroupUserRow[]; total: number }> {
  const conditions: RawBuilder<unknown>[] = [sql`g.org_id = ${orgId}::uuid`];
  if (filter.xUserId !== undefined) conditions.push(sql`u.num = ${filter.xUserId}`);
  if (filter.xGroupId !== undefined) conditions.push(sql`g.num = ${filter.xGroupId}`);
  const direction = page.sortType === "desc" ? sql`desc` : sql`asc`;
  const [rows, count] = await Promise.all([
    sql<GroupUserRow>`select ${groupUserColumns} ${where(conditions)}
      order by m.num ${direction} limit ${page.pageSize} offset ${page.startIndex}`.execute(db),
    sql<{ n: number }>`select count(*)::int as n from group_members m join groups g on g.id = m.group_id
      join users u on u.id = m.user_id ${where(conditions)}`.execute(db),
  ]);
  return { rows: rows.rows, total: Number(count.rows[0]?.n ?? 0) };
}

/** One direct membership by its number, or undefined. */
export async function findGroupUser(db: Queryable, orgId: string, num: number): Promise<GroupUserRow | undefined> {
  const rows = await sql<GroupUserRow>`select ${groupUserColumns}
    where g.org_id = ${orgId}::uuid and m.num = ${num}`.execute(db);
  return rows.rows[0];
}

/** The effective members of a group (its own and its subgroups'), ordered by username. */
export async function effectiveMembers(db: Queryable, groupId: string): Promise<{ num: number; username: string }[]> {
  const rows = await sql<{ num: number; username: string }>`
    select u.num, u.username from users u
    where u.id in (select m.user_id from group_closure c join group_members m on m.group_id = c.descendant_id
                   where c.ancestor_id = ${groupId}::uuid)
    order by lower(u.username)`.execute(db);
  return rows.rows;
}

/**
 * Every group that has members, with its effective members' usernames (Ranger's
 * `GET ugsync/groupusers`, `XXGroupUserDao.findUsersByGroupIds`: usersync's picture of the
 * memberships it computes its deltas against).
 */
export async function allGroupUsers(db: Queryable, orgId: string): Promise<Record<string, string[]>> {
  const rows = await sql<{ name: string; users: string[] }>`
    select g.name, array_agg(distinct u.username) as users
    from groups g join group_closure c on c.ancestor_id = g.id
    join group_members m on m.group_id = c.descendant_id join users u on u.id = m.user_id
    where g.org_id = ${orgId}::uuid
    group by g.name`.execute(db);
  const map: Record<string, string[]> = {};
  for (const row of rows.rows) map[row.name] = row.users;
  return map;
}
