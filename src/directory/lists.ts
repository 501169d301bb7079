import { type SqlBool, sql } from "kysely";
import { decodeCursor, pageById, pageOf } from "../http/cursor.ts";
import { normaliseName } from "../http/names.ts";
import { type CountedTotal, countMatches, exactTotal, type TotalMode } from "../http/totals.ts";
import type { Queryable } from "../storage/db.ts";
import type { GroupRow, OrgRow, RoleBindingRow, RoleRow, UserRow } from "../storage/schema.ts";
import { escapeLike, type PageResult } from "./effective.ts";

// Keyset-paginated lists with totals. Each list orders by a unique key (lower(name) within an
// organisation, or id) so pages stay stable while rows are inserted.

/** How a list counts its total (`exact` when absent); `bounded` stops at `TOTAL_BOUND` (http/totals.ts). */
export interface TotalOption {
  total?: TotalMode | undefined;
}

/** Filters shared by the group and user lists. */
export interface NameFilters extends TotalOption {
  prefix?: string | undefined;
  q?: string | undefined;
  source?: "local" | "ldap" | "oidc" | "scim" | "ranger-usersync" | undefined;
}

/** A page of a list with its total, which a `bounded` count may give only as a lower bound. */
export type CountedPage<R> = PageResult<R> & CountedTotal;

/** `key:value` with a dotted key → a JSON object for `@>` containment (`labels.team:x` → {labels:{team:"x"}}). */
export function containmentOf(keyValue: string): string {
  const colon = keyValue.indexOf(":");
  const path = keyValue.slice(0, colon).split(".");
  let value: unknown = keyValue.slice(colon + 1);
  for (const key of path.reverse()) value = { [key]: value };
  return JSON.stringify(value);
}

/**
 * The exact number of groups or users of an organisation, summed from the shards the triggers of
 * migration 0005 keep: unfiltered lists answer their total without counting 100,000 rows.
 */
export async function countOf(db: Queryable, orgId: string, kind: "group" | "user"): Promise<number> {
  const row = await db
    .selectFrom("directory_counts")
    .where("org_id", "=", orgId)
    .where("kind", "=", kind)
    .select((eb) => eb.fn.sum<number>("n").as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

function page<R>(
  rows: R[],
  limit: number,
  total: CountedTotal,
  key: (row: R) => Record<string, string>,
): CountedPage<R> {
  const kept = pageOf(rows, limit, key);
  return { items: kept.rows, nextCursor: kept.nextCursor, ...total };
}

/** Groups of an organisation ordered by name, filtered by name prefix or substring, source, parent, metadata. */
export async function listGroups(
  db: Queryable,
  orgId: string,
  filters: NameFilters & { name?: string | undefined; parentId?: string | undefined; metadata?: string | undefined },
  limit: number,
  cursor: string | undefined,
): Promise<CountedPage<GroupRow>> {
  let query = db.selectFrom("groups").where("org_id", "=", orgId);
  if (filters.name) query = query.where(sql<SqlBool>`lower(name) = ${filters.name.toLowerCase()}`);
  if (filters.prefix) {
    query = query.where(sql<SqlBool>`lower(name) like ${`${escapeLike(filters.prefix.toLowerCase())}%`}`);
  }
  if (filters.q) query = query.where(sql<SqlBool>`lower(name) like ${`%${escapeLike(filters.q.toLowerCase())}%`}`);
  if (filters.source) query = query.where("source", "=", filters.source);
  if (filters.parentId === "root") query = query.where("parent_id", "is", null);
  else if (filters.parentId) query = query.where("parent_id", "=", filters.parentId);
  if (filters.metadata) query = query.where(sql<SqlBool>`metadata @> ${containmentOf(filters.metadata)}::jsonb`);
  const filtered = Boolean(
    filters.name || filters.prefix || filters.q || filters.source || filters.parentId || filters.metadata,
  );
  const paged = cursor
    ? query.where(sql<SqlBool>`lower(name) > ${decodeCursor<{ k: string }>(cursor, ["k"]).k}`)
    : query;
  if (!filtered) {
    // Unfiltered: the page and the maintained count in one statement (the hot path).
    const rows = await paged
      .selectAll()
      .select(
        sql<number>`(select coalesce(sum(n), 0) from directory_counts where org_id = ${orgId}::uuid and kind = 'group')`.as(
          "total_count",
        ),
      )
      .orderBy(sql`lower(name)`)
      .limit(limit + 1)
      .execute();
    const total = rows.length > 0 ? Number(rows[0]?.total_count) : await countOf(db, orgId, "group");
    return page(
      rows.map(({ total_count: _n, ...row }) => row),
      limit,
      exactTotal(total, filters.total ?? "exact"),
      (r) => ({ k: r.name.toLowerCase() }),
    );
  }
  // The total and the page run concurrently on two connections: one round trip of latency.
  const [total, rows] = await Promise.all([
    countMatches(db, query, filters.total ?? "exact"),
    paged
      .selectAll()
      .orderBy(sql`lower(name)`)
      .limit(limit + 1)
      .execute(),
  ]);
  return page(rows, limit, total, (r) => ({ k: r.name.toLowerCase() }));
}

/**
 * What a user search (`q`) reads: username, display name and email, lower-cased and joined by
 * U+001F. Exactly the expression of migration 0020's trigram index, which PostgreSQL uses only for
 * this expression.
 */
export const USER_SEARCH_TEXT = sql<string>`lower(username || chr(31) || coalesce(display_name, '') || chr(31) || coalesce(email, ''))`;

/** Users of an organisation ordered by username, filtered by name, source, status and attributes. */
export async function listUsers(
  db: Queryable,
  orgId: string,
  filters: NameFilters & {
    username?: string | undefined;
    status?: "active" | "disabled" | undefined;
    attribute?: string | undefined;
  },
  limit: number,
  cursor: string | undefined,
): Promise<CountedPage<UserRow>> {
  let query = db.selectFrom("users").where("org_id", "=", orgId);
  if (filters.username)
    query = query.where(sql<SqlBool>`lower(username) = ${normaliseName(filters.username).toLowerCase()}`);
  if (filters.prefix) {
    query = query.where(sql<SqlBool>`lower(username) like ${`${escapeLike(filters.prefix.toLowerCase())}%`}`);
  }
  if (filters.q) {
    const like = `%${escapeLike(filters.q.toLowerCase())}%`;
    query = query.where(
      // the expression of migration 0020's trigram index: the three fields joined by U+001F, which
      // a search holding U+001F itself could match across, so such a search asks field by field
      filters.q.includes("\u001f")
        ? sql<SqlBool>`(lower(username) like ${like} or lower(coalesce(display_name, '')) like ${like} or lower(coalesce(email, '')) like ${like})`
        : sql<SqlBool>`${USER_SEARCH_TEXT} like ${like}`,
    );
  }
  if (filters.source) query = query.where("source", "=", filters.source);
  if (filters.status) query = query.where("status", "=", filters.status);
  if (filters.attribute) query = query.where(sql<SqlBool>`attributes @> ${containmentOf(filters.attribute)}::jsonb`);
  const filtered = Boolean(
    filters.username || filters.prefix || filters.q || filters.source || filters.status || filters.attribute,
  );
  const mode = filters.total ?? "exact";
  const counted = filtered
    ? countMatches(db, query, mode)
    : countOf(db, orgId, "user").then((n) => exactTotal(n, mode));
  const paged = cursor
    ? query.where(sql<SqlBool>`lower(username) > ${decodeCursor<{ k: string }>(cursor, ["k"]).k}`)
    : query;
  // The total and the page run concurrently on two connections: one round trip of latency.
  const [total, rows] = await Promise.all([
    counted,
    paged
      .selectAll()
      .orderBy(sql`lower(username)`)
      .limit(limit + 1)
      .execute(),
  ]);
  return page(rows, limit, total, (r) => ({ k: r.username.toLowerCase() }));
}

/** Organisations ordered by name (unique case-insensitively). */
export async function listOrgs(db: Queryable, limit: number, cursor: string | undefined): Promise<PageResult<OrgRow>> {
  const total = await db
    .selectFrom("orgs")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  let query = db.selectFrom("orgs");
  if (cursor) query = query.where(sql<SqlBool>`lower(name) > ${decodeCursor<{ k: string }>(cursor, ["k"]).k}`);
  const rows = await query
    .selectAll()
    .orderBy(sql`lower(name)`)
    .limit(limit + 1)
    .execute();
  return page(rows, limit, { total: Number(total.n) }, (r) => ({ k: r.name.toLowerCase() }));
}

/** Built-in roles and the organisation's roles, ordered by id, with their direct composites. */
export async function listRoles(
  db: Queryable,
  orgId: string,
  filters: TotalOption & { prefix?: string | undefined; builtin?: boolean | undefined },
  limit: number,
  cursor: string | undefined,
): Promise<CountedPage<RoleRow & { composites: string[]; administers: string[] }>> {
  let query = db.selectFrom("roles").where((eb) => eb.or([eb("org_id", "=", orgId), eb("org_id", "is", null)]));
  if (filters.prefix) {
    query = query.where(sql<SqlBool>`lower(name) like ${`${escapeLike(filters.prefix.toLowerCase())}%`}`);
  }
  if (filters.builtin !== undefined) query = query.where("builtin", "=", filters.builtin);
  const { rows, ...rest } = await pageById(query, limit, cursor, (filtered) =>
    countMatches(db, filtered, filters.total ?? "exact"),
  );
  const ids = rows.map((r) => r.id);
  const links =
    ids.length > 0
      ? await db
          .selectFrom("role_composites")
          .where("role_id", "in", ids)
          .selectAll()
          .orderBy("child_role_id")
          .execute()
      : [];
  const withComposites = rows.map((r) => {
    const own = links.filter((l) => l.role_id === r.id);
    return {
      ...r,
      composites: own.map((l) => l.child_role_id),
      administers: own.filter((l) => l.is_admin).map((l) => l.child_role_id),
    };
  });
  return { ...rest, items: withComposites };
}

/** Role bindings of an organisation ordered by id, filtered by role and principal. */
export async function listRoleBindings(
  db: Queryable,
  orgId: string,
  filters: {
    roleId?: string | undefined;
    principalType?: RoleBindingRow["principal_type"] | undefined;
    principalId?: string | undefined;
  },
  limit: number,
  cursor: string | undefined,
): Promise<PageResult<RoleBindingRow>> {
  let query = db.selectFrom("role_bindings").where("org_id", "=", orgId);
  if (filters.roleId) query = query.where("role_id", "=", filters.roleId);
  if (filters.principalType) query = query.where("principal_type", "=", filters.principalType);
  if (filters.principalId) query = query.where("principal_id", "=", filters.principalId);
  const { rows, nextCursor, total } = await pageById(query, limit, cursor);
  return { items: rows, nextCursor, total };
}
