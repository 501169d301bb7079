import { type RawBuilder, sql } from "kysely";
import { GroupNotFound, UserNotFound, ValidationFailed } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";
import type { GroupRow, UserRow } from "../storage/schema.ts";
import { scimFail } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be a Gatehouse id (anything else names no resource). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** A page of rows and the number of rows the filter matches. */
export interface ScimPage<T> {
  rows: T[];
  total: number;
}

/**
 * A user of `orgId` by id, optionally locked for an update; USER_NOT_FOUND (404) otherwise, also
 * for a user of another organisation (a SCIM client sees only its own).
 */
export async function userOf(db: Queryable, orgId: string, id: string, lock = false): Promise<UserRow> {
  if (isUuid(id)) {
    let q = db.selectFrom("users").where("id", "=", id).where("org_id", "=", orgId).selectAll();
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (row) return row;
  }
  throw UserNotFound(`user \`${id}\` not found`);
}

/** A group of `orgId` by id (see `userOf`). */
export async function groupOf(db: Queryable, orgId: string, id: string, lock = false): Promise<GroupRow> {
  if (isUuid(id)) {
    let q = db.selectFrom("groups").where("id", "=", id).where("org_id", "=", orgId).selectAll();
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (row) return row;
  }
  throw GroupNotFound(`group \`${id}\` not found`);
}

/** A user's direct groups as SCIM presents them (`groups[].value`, `groups[].display`). */
export type UserGroups = { id: string; name: string }[];

/**
 * One page of `orgId`'s users matching `where` (`users as u`), in id order, with the total and,
 * when `withGroups`, each user's direct groups read by the same query (a `userName eq` lookup is
 * then one round trip, not two).
 */
export async function listUsers(
  db: Queryable,
  orgId: string,
  where: RawBuilder<boolean> | null,
  offset: number,
  count: number,
  withGroups = false,
): Promise<ScimPage<UserRow> & { groups: Map<string, UserGroups> | null }> {
  let q = db.selectFrom("users as u").where("u.org_id", "=", orgId);
  if (where) q = q.where(where);
  const groups = withGroups ? new Map<string, UserGroups>() : null;
  let rows: UserRow[] = [];
  if (count > 0) {
    const page = q.selectAll("u").orderBy("u.id").offset(offset).limit(count);
    if (groups) {
      const found = await page
        .select(
          sql<UserGroups>`(select coalesce(json_agg(json_build_object('id', g.id, 'name', g.name) order by g.name), '[]'::json)
            from group_members m join groups g on g.id = m.group_id where m.user_id = u.id)`.as("scim_groups"),
        )
        .execute();
      rows = found.map(({ scim_groups, ...row }) => {
        groups.set(row.id, scim_groups);
        return row as UserRow;
      });
    } else {
      rows = await page.execute();
    }
  }
  // a first page that is not full is the whole result: no count (the `userName eq` lookup is one query)
  if (offset === 0 && rows.length < count) return { rows, total: rows.length, groups };
  const total = await q.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow();
  return { rows, total: Number(total.n), groups };
}

/** One page of `orgId`'s groups matching `where` (`groups as g`), in id order, with the total. */
export async function listGroups(
  db: Queryable,
  orgId: string,
  where: RawBuilder<boolean> | null,
  offset: number,
  count: number,
): Promise<ScimPage<GroupRow>> {
  let q = db.selectFrom("groups as g").where("g.org_id", "=", orgId);
  if (where) q = q.where(where);
  const rows = count === 0 ? [] : await q.selectAll("g").orderBy("g.id").offset(offset).limit(count).execute();
  // a first page that is not full is the whole result: no count (the `userName eq` lookup is one query)
  if (offset === 0 && rows.length < count) return { rows, total: rows.length };
  const total = await q.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow();
  return { rows, total: Number(total.n) };
}

/** Direct groups of each user (the read-only `groups` of a SCIM User). */
export async function groupsOfUsers(
  db: Queryable,
  userIds: string[],
): Promise<Map<string, { id: string; name: string }[]>> {
  const out = new Map<string, { id: string; name: string }[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  const rows = await sql<{ user_id: string; id: string; name: string }>`
    select m.user_id, g.id, g.name from group_members m join groups g on g.id = m.group_id
    where m.user_id = any(${userIds}::uuid[]) order by g.name`.execute(db);
  for (const r of rows.rows) out.get(r.user_id)?.push({ id: r.id, name: r.name });
  return out;
}

/** A digest of each group's member ids, the part of its version (ETag) that members change. */
export async function memberDigests(db: Queryable, groupIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>(groupIds.map((id) => [id, ""]));
  if (groupIds.length === 0) return out;
  const rows = await sql<{ group_id: string; digest: string }>`
    select group_id, md5(string_agg(user_id::text, ',' order by user_id)) as digest from group_members
    where group_id = any(${groupIds}::uuid[]) group by group_id`.execute(db);
  for (const r of rows.rows) out.set(r.group_id, r.digest);
  return out;
}

/** The direct members (users) of each group, with their usernames for `members[].display`. */
export async function membersOfGroups(
  db: Queryable,
  groupIds: string[],
): Promise<Map<string, { id: string; username: string }[]>> {
  const out = new Map<string, { id: string; username: string }[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const rows = await sql<{ group_id: string; id: string; username: string }>`
    select m.group_id, u.id, u.username from group_members m join users u on u.id = m.user_id
    where m.group_id = any(${groupIds}::uuid[]) order by u.id`.execute(db);
  for (const r of rows.rows) out.get(r.group_id)?.push({ id: r.id, username: r.username });
  return out;
}

/**
 * Checks that every id names a user of `orgId`, so a SCIM member list is refused before anything
 * is written; invalidValue naming the first unknown member.
 */
export async function checkMembers(db: Queryable, orgId: string, ids: string[], field: string): Promise<void> {
  const unique = [...new Set(ids)];
  const bad = unique.find((id) => !isUuid(id));
  let unknown = bad;
  if (unknown === undefined && unique.length > 0) {
    const found = await sql<{ id: string }>`
      select id from users where id = any(${unique}::uuid[]) and org_id = ${orgId}::uuid`.execute(db);
    const known = new Set(found.rows.map((r) => r.id));
    unknown = unique.find((id) => !known.has(id));
  }
  if (unknown !== undefined) {
    throw scimFail(
      ValidationFailed,
      "invalidValue",
      `${field}[${ids.indexOf(unknown)}].value`,
      `user \`${unknown}\` not found`,
    );
  }
}
