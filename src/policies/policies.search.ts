import { prepareServiceDef } from "../engine/model/service-def.ts";
import type { ServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable } from "../storage/db.ts";
import {
  candidateIds,
  countPolicies,
  listCandidates,
  listPolicies,
  type PolicyFilter,
  type PolicyRecord,
  type ResourceStats,
  resourceStats,
} from "./policies.store.ts";
import { type MatchScope, matchesResourceSearch } from "./resource-filter.ts";

const prepared = new WeakMap<object, ReturnType<typeof prepareServiceDef>>();
function preparedOf(def: Parameters<typeof prepareServiceDef>[0]) {
  let p = prepared.get(def);
  if (!p) {
    p = prepareServiceDef(def);
    prepared.set(def, p);
  }
  return p;
}

const STATS_TTL_MS = 60_000;
const statsCache = new Map<number, { at: number; stats: Promise<Map<string, ResourceStats>> }>();

/**
 * Resource statistics of a service, cached for a minute and refreshed in the background: the
 * choice of driving key only needs rough numbers, and the query reads every value row.
 */
function statsOf(db: Queryable, serviceId: number): Promise<Map<string, ResourceStats>> {
  const cached = statsCache.get(serviceId);
  const now = Date.now();
  if (cached && now - cached.at < STATS_TTL_MS) return cached.stats;
  const fresh = resourceStats(db, serviceId);
  fresh.catch(() => statsCache.delete(serviceId));
  if (cached) {
    // Serve the old numbers while the new ones load.
    fresh.then((stats) => statsCache.set(serviceId, { at: Date.now(), stats: Promise.resolve(stats) })).catch(() => {});
    cached.at = now;
    return cached.stats;
  }
  statsCache.set(serviceId, { at: now, stats: fresh });
  return fresh;
}

/**
 * The searched key expected to leave the fewest candidates: the literal matches (rows divided by
 * distinct values) plus every non-literal value of that key. `catalog=hive` matches everything
 * in a one-catalog service; `schema=sales` usually a handful.
 */
function drivingKey(search: Record<string, string>, stats: Map<string, ResourceStats>): string | undefined {
  let best: string | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (const name of Object.keys(search)) {
    const s = stats.get(name);
    const cost = s ? s.rows / Math.max(1, s.distinct) + s.wild : 0;
    if (cost < bestCost) {
      best = name;
      bestCost = cost;
    }
  }
  return best;
}

/** A search: SQL filters plus an optional resource search with its match scope. */
export interface PolicySearch extends Omit<PolicyFilter, "allowMissingKeys"> {
  resourceMatchScope?: MatchScope;
}

/**
 * Searches a service's policies, newest id last, `limit` per page after `afterId`, with the
 * total across pages. Without a resource search everything runs in SQL. With one, SQL narrows to
 * policies holding the searched literal or a non-literal value (wildcards, excludes), and the
 * exact Ranger-style match runs here, so `*`, `sales*` and excludes answer like the engine would.
 */
export async function searchPolicies(
  db: Queryable,
  target: ServiceWithDef,
  search: PolicySearch,
  limit: number,
  afterId: number | null,
): Promise<{ records: PolicyRecord[]; total: number }> {
  const { resourceMatchScope = "self", ...rest } = search;
  const serviceId = target.service.id;
  if (!search.resources || Object.keys(search.resources).length === 0) {
    const [records, total] = await Promise.all([
      listPolicies(db, serviceId, rest, limit, afterId),
      countPolicies(db, serviceId, rest),
    ]);
    return { records, total };
  }
  const filter: PolicyFilter = { ...rest, allowMissingKeys: resourceMatchScope !== "self" };
  if (!filter.allowMissingKeys) {
    // Self scope: every match names the searched keys, so the most selective one finds them all.
    const key = drivingKey(search.resources, await statsOf(db, serviceId)) as string;
    filter.ids = await candidateIds(db, serviceId, key, search.resources[key] as string);
    filter.resources = undefined;
    if (filter.ids.length === 0) return { records: [], total: 0 };
  }
  const candidates = await listCandidates(db, serviceId, filter);
  const defsByType = preparedOf(target.def).resourcesByType;
  const matching = candidates.filter((c) =>
    matchesResourceSearch(
      c.body.resources ?? {},
      search.resources ?? {},
      defsByType[search.policyType ?? 0] ?? defsByType[0] ?? new Map(),
      resourceMatchScope,
    ),
  );
  const page = matching.filter((c) => afterId === null || c.id > afterId).slice(0, limit);
  return { records: page, total: matching.length };
}
