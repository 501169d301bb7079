import { type Selectable, type SelectQueryBuilder, type SqlBool, sql } from "kysely";
import { InvalidCursor } from "../errors.ts";
import { type CountedTotal, countAll } from "./totals.ts";

/** Encodes the position after the last item of a page (keyset pagination: stable under inserts). */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/** Decodes a cursor made by `encodeCursor`; anything else is a 400 naming `query.cursor`. */
export function decodeCursor<T extends Record<string, string | number>>(cursor: string, keys: (keyof T)[]): T {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as T;
    if (value && typeof value === "object" && keys.every((k) => k in value)) return value;
  } catch {
    // fall through to the error below
  }
  throw InvalidCursor("query.cursor: is not a cursor returned by this list", {
    details: [
      { field: "query.cursor", rule: "cursor", message: "query.cursor: is not a cursor returned by this list" },
    ],
  });
}

/**
 * Cuts one extra fetched row off a page and makes the cursor of the next page from the last
 * row kept. Callers fetch `limit + 1` rows so the last page says `nextCursor: null` exactly.
 */
export function pageOf<R>(
  rows: R[],
  limit: number,
  positionOf: (row: R) => Record<string, string | number>,
): { rows: R[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const kept = rows.slice(0, limit);
  return { rows: kept, nextCursor: encodeCursor(positionOf(kept[kept.length - 1] as R)) };
}

/**
 * One page of a list ordered by its `id` column, with the total of the filtered list: the shape of
 * every id-keyset list (API keys, service accounts, roles, role bindings, SCIM clients). `query`
 * carries the filters; the total counts them before the cursor narrows the page (exactly, unless the
 * caller passes its own `count`, e.g. a bounded one through `countMatches`).
 */
export async function pageById<DB, TB extends keyof DB & string>(
  query: SelectQueryBuilder<DB, TB, object>,
  limit: number,
  cursor: string | undefined,
  count: (filtered: SelectQueryBuilder<DB, TB, object>) => Promise<CountedTotal> = countAll,
): Promise<{ rows: Selectable<DB[TB]>[]; nextCursor: string | null } & CountedTotal> {
  const total = await count(query);
  const after = cursor ? query.where(sql<SqlBool>`id > ${decodeCursor<{ id: string }>(cursor, ["id"]).id}`) : query;
  const rows = (await after
    .selectAll()
    .orderBy(sql`id`)
    .limit(limit + 1)
    .execute()) as unknown as Selectable<DB[TB]>[]; // what selectAll of one table returns, which TypeScript cannot see through the generics
  const page = pageOf(rows, limit, (row) => ({ id: (row as { id: string }).id }));
  return { ...page, ...total };
}
