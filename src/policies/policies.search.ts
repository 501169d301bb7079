import { prepareServiceDef } from "../engine/model/service-def.ts";
import type { ServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable } from "../storage/db.ts";
import {
  countPolicies,
  getPolicyRecords,
  listCandidateResources,
  listPolicies,
  type PolicyFilter,
  type PolicyRecord,
} from "./policies.store.ts";
import { type MatchScope, matchesResourceSearch } from "./resource-filter.ts";

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
  const candidates = await listCandidateResources(db, serviceId, filter);
  const defsByType = prepareServiceDef(target.def).resourcesByType;
  const matching = candidates.filter((c) =>
    matchesResourceSearch(
      c.resources,
      search.resources ?? {},
      defsByType[search.policyType ?? 0] ?? defsByType[0] ?? new Map(),
      resourceMatchScope,
    ),
  );
  const page = matching.filter((c) => afterId === null || c.id > afterId).slice(0, limit);
  return {
    records: await getPolicyRecords(
      db,
      page.map((c) => c.id),
    ),
    total: matching.length,
  };
}
