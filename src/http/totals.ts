import { type Kysely, type SelectQueryBuilder, sql } from "kysely";
import { Type } from "typebox";

/**
 * How a list counts the items matching its filters. `exact` (the default, what every list has
 * always answered) counts them all; `bounded` stops counting past `TOTAL_BOUND`, so a caller that
 * shows only a page of suggestions does not pay for counting a million matches (docs/directory.md).
 */
export type TotalMode = "exact" | "bounded";

/** Where a `bounded` total stops counting: beyond it a caller learns only "more than 1,000". */
export const TOTAL_BOUND = 1000;

/** The `total` query parameter of the lists that can bound their count. */
export const TotalQuery = Type.Object({
  total: Type.Optional(
    Type.Union([Type.Literal("exact"), Type.Literal("bounded")], {
      description: `\`exact\` (default): count every match. \`bounded\`: count at most ${TOTAL_BOUND.toLocaleString("en")}; past that, \`total\` is ${TOTAL_BOUND} and \`totalIsLowerBound\` is true`,
    }),
  ),
});

/** The total of a list page, and with a `bounded` count whether it is only a lower bound. */
export interface CountedTotal {
  total: number;
  /** Present on `bounded` answers: true when more than `total` items match. */
  totalIsLowerBound?: boolean;
}

/**
 * Counts the rows `query` (a filtered select, no columns yet) matches. `bounded` reads at most
 * `TOTAL_BOUND + 1` of them through a LIMIT inside a subquery, so the cost is that of a short index
 * or table range however many rows match.
 */
export async function countMatches<DB, TB extends keyof DB & string>(
  db: Kysely<DB>,
  query: SelectQueryBuilder<DB, TB, object>,
  mode: TotalMode,
): Promise<CountedTotal> {
  if (mode === "exact") return countAll(query);
  const matched = query.select(sql<number>`1`.as("one")).limit(TOTAL_BOUND + 1);
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from (${matched}) as matched`.execute(db);
  return boundedOf(Number(rows[0]?.n ?? 0));
}

/** Counts every row `query` matches: the `exact` total, what lists answer by default. */
export async function countAll<DB, TB extends keyof DB & string>(
  query: SelectQueryBuilder<DB, TB, object>,
): Promise<CountedTotal> {
  const row = await query.select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
  return { total: Number((row as { n: number | string }).n) };
}

/** The total of a list that knows it exactly without counting (maintained counters): exact in both modes, and `bounded` callers are told so. */
export function exactTotal(total: number, mode: TotalMode): CountedTotal {
  return mode === "bounded" ? { total, totalIsLowerBound: false } : { total };
}

function boundedOf(counted: number): CountedTotal {
  return counted > TOTAL_BOUND
    ? { total: TOTAL_BOUND, totalIsLowerBound: true }
    : { total: counted, totalIsLowerBound: false };
}
