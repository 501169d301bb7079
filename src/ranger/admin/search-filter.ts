import { Type } from "typebox";
import type { RangerPolicy } from "../../engine/types.ts";
import { fieldError, ValidationFailed } from "../../errors.ts";
import type { PolicySearch } from "../../policies/policies.search.ts";
import type { MatchScope } from "../../policies/resource-filter.ts";
import type { Service, StoredServiceDef } from "../../service-defs/service-defs.store.ts";
import type { ZoneView } from "../../zones/zones.store.ts";

/** Ranger's `SearchFilter` query: any parameter, each a string (unknown ones are ignored). */
export const OpenQuery = Type.Record(Type.String(), Type.String(), {
  description: "Ranger SearchFilter parameters",
});

/** Ranger's `startIndex`/`pageSize` paging; Ranger's default page is 200 (`ranger.db.maxrows.default`). */
export interface Paging {
  startIndex: number;
  pageSize: number;
}

const DEFAULT_PAGE = 200;
const MAX_PAGE = 10_000;
const SCOPES: Record<string, MatchScope> = { self: "self", ancestor: "ancestor", self_or_ancestor: "self_or_ancestor" };

function invalid(param: string, rule: string, problem: string): Error {
  return fieldError(ValidationFailed, `query.${param}`, rule, problem);
}

function integer(q: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const raw = q[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw invalid(name, "integer", `must be an integer from ${min} to ${max}`);
  return n;
}

function text(q: Record<string, unknown>, name: string): string | undefined {
  const raw = q[name];
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}

/**
 * Ranger's `SearchFilter` query parameters (`AC/util/SearchFilter.java`) as a native policy search:
 * `policyName`, `policyNamePartial`, `policyLabel`, `user`, `group`,
 * `role`, `policyType`, `isEnabled`, `zoneName`, `resource:<name>=<value>` with
 * `resourceMatchScope`, and `policyId` run as the native search; the parameters Ranger checks only
 * in memory (`AbstractPredicateUtil`) come back as `predicates`: `resource:<name>` without a
 * scope, `polResource`, `policyNamePrefix`, `policyLabelsPartial`, `policyPriority`,
 * `isRecursive`. Parameters Gatehouse does not filter on are ignored, as Ranger ignores unknown
 * ones; a malformed value is a 400 naming it.
 */
export function policySearchOf(q: Record<string, unknown>): {
  search: PolicySearch;
  policyId?: number;
  paging: Paging;
  /** Ranger's in-memory predicates that have no SQL counterpart; all must hold. */
  predicates: PolicyPredicate[];
  /** `resource:<name>` searched without a scope (one of the predicates), to narrow candidates by. */
  legacyResources: Record<string, string>;
} {
  const resources: Record<string, string> = {};
  for (const [key, value] of Object.entries(q)) {
    if (key.startsWith("resource:") && typeof value === "string" && value !== "")
      resources[key.slice("resource:".length)] = value;
  }
  const enabled = text(q, "isEnabled");
  if (enabled !== undefined && enabled !== "true" && enabled !== "false")
    throw invalid("isEnabled", "boolean", "must be true or false");
  const scopeText = text(q, "resourceMatchScope")?.toLowerCase();
  const scope = scopeText === undefined ? undefined : SCOPES[scopeText];
  if (scopeText !== undefined && scope === undefined)
    throw invalid("resourceMatchScope", "enum", "must be self, ancestor or self_or_ancestor");
  const search: PolicySearch = {
    policyName: text(q, "policyName"),
    policyNamePartial: text(q, "policyNamePartial"),
    policyLabel: text(q, "policyLabel"),
    user: text(q, "user"),
    group: text(q, "group"),
    role: text(q, "role"),
    policyType: integer(q, "policyType", 0, 2),
    isEnabled: enabled === undefined ? undefined : enabled === "true",
    zoneName: text(q, "zoneName"),
    // Without resourceMatchScope, Ranger's older resource search applies (a predicate, below).
    resources: scope === undefined ? {} : resources,
    resourceMatchScope: scope,
  };
  const labelsPartial = text(q, "policyLabelsPartial");
  const legacyResources = scope === undefined ? resources : {};
  const predicates = rangerPredicates(q, legacyResources, labelsPartial);
  const paging = {
    startIndex: integer(q, "startIndex", 0, Number.MAX_SAFE_INTEGER) ?? 0,
    pageSize: integer(q, "pageSize", 1, MAX_PAGE) ?? DEFAULT_PAGE,
  };
  return { search, policyId: integer(q, "policyId", 1, Number.MAX_SAFE_INTEGER), paging, predicates, legacyResources };
}

function booleanParam(q: Record<string, unknown>, name: string): boolean | undefined {
  const raw = text(q, name);
  if (raw === undefined) return undefined;
  if (raw !== "true" && raw !== "false") throw invalid(name, "boolean", "must be true or false");
  return raw === "true";
}

/** Contains, ignoring case: Ranger's `StringUtils.containsIgnoreCase` of its partial filters. */
export function containsIgnoreCase(haystack: string | null | undefined, needle: string): boolean {
  return (haystack ?? "").toLowerCase().includes(needle.toLowerCase());
}

/**
 * Ranger's service search (`RangerSearchUtil` over `x_service`, `AbstractPredicateUtil`):
 * `serviceName` (exact), `serviceNamePartial` (contains, any case), `serviceType`, `serviceId`,
 * `tagServiceName`, `isEnabled`, each narrowing the list; other parameters are ignored.
 */
export function serviceFilterOf(q: Record<string, unknown>): (s: Service) => boolean {
  const name = text(q, "serviceName");
  const partial = text(q, "serviceNamePartial");
  const type = text(q, "serviceType");
  const id = integer(q, "serviceId", 1, Number.MAX_SAFE_INTEGER);
  const tagService = text(q, "tagServiceName");
  const enabled = booleanParam(q, "isEnabled");
  return (s) =>
    (name === undefined || s.name === name) &&
    (partial === undefined || containsIgnoreCase(s.name, partial)) &&
    (type === undefined || s.type === type) &&
    (id === undefined || s.id === id) &&
    (tagService === undefined || s.tagService === tagService) &&
    (enabled === undefined || s.isEnabled === enabled);
}

/** Ranger's service-def search: `serviceType` (the def's name) and `serviceTypeId` (its id). */
export function serviceDefFilterOf(q: Record<string, unknown>): (d: StoredServiceDef) => boolean {
  const type = text(q, "serviceType");
  const id = integer(q, "serviceTypeId", 1, Number.MAX_SAFE_INTEGER);
  return (d) => (type === undefined || d.name === type) && (id === undefined || d.id === id);
}

/**
 * Ranger's security-zone search (`SecurityZoneREST#getAllZones`): `zoneName` (exact),
 * `zoneNamePartial` (contains, any case), `zoneId`, and `serviceName` (zones that include the
 * service, as a data or tag service); other parameters are ignored.
 */
export function zoneFilterOf(q: Record<string, unknown>): (z: ZoneView) => boolean {
  const name = text(q, "zoneName");
  const partial = text(q, "zoneNamePartial");
  const id = integer(q, "zoneId", 1, Number.MAX_SAFE_INTEGER);
  const service = text(q, "serviceName");
  return (z) =>
    (name === undefined || z.name === name) &&
    (partial === undefined || containsIgnoreCase(z.name, partial)) &&
    (id === undefined || z.id === id) &&
    (service === undefined || service in z.services || z.tagServices.includes(service));
}

/**
 * Ranger's role search (`RoleREST#getAllRoles` over `RangerSearchUtil`): `roleName` (exact),
 * `roleNamePartial` (contains, any case), `roleId`; other parameters are ignored.
 */
export function roleFilterOf(q: Record<string, unknown>): (r: { id?: number; name: string }) => boolean {
  const name = text(q, "roleName");
  const partial = text(q, "roleNamePartial");
  const id = integer(q, "roleId", 1, Number.MAX_SAFE_INTEGER);
  return (r) =>
    (name === undefined || r.name === name) &&
    (partial === undefined || containsIgnoreCase(r.name, partial)) &&
    (id === undefined || r.id === id);
}

/** One of Ranger's in-memory policy predicates. */
export type PolicyPredicate = (policy: RangerPolicy) => boolean;

/**
 * Commons-IO's `FilenameUtils.wildcardMatch(value, pattern)` (case-sensitive): `*` any run,
 * `?` one character, everything else literal.
 */
function wildcardMatch(value: string, pattern: string): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s").test(value);
}

/**
 * The predicates of Ranger's `AbstractPredicateUtil` that the native search has no column for:
 * - `resource:<name>=<value>` without `resourceMatchScope` (`addPredicateForResources`): the
 *   policy names every searched resource, with the value among its values or matched by one of
 *   them as a wildcard pattern, whatever else it names (below or beside);
 * - `polResource` (`addPredicateForPolicyResource`): some value of some resource contains it,
 *   ignoring case (the console's partial resource search);
 * - `policyNamePrefix`: the name starts with it, ignoring case;
 * - `policyLabelsPartial`: some label contains it, ignoring case;
 * - `policyPriority`: `NORMAL`/`0` or `OVERRIDE`/`1`;
 * - `isRecursive`: some resource is (or, `false`, is not) recursive.
 */
function rangerPredicates(
  q: Record<string, unknown>,
  resources: Record<string, string>,
  labelsPartial: string | undefined,
): PolicyPredicate[] {
  const out: PolicyPredicate[] = [];
  if (Object.keys(resources).length > 0) {
    out.push((p) =>
      Object.entries(resources).every(([name, value]) => {
        const values = p.resources?.[name]?.values ?? [];
        return values.includes(value) || values.some((v) => wildcardMatch(value, v));
      }),
    );
  }
  const polResource = text(q, "polResource");
  if (polResource !== undefined) {
    out.push((p) =>
      Object.values(p.resources ?? {}).some((r) => (r?.values ?? []).some((v) => containsIgnoreCase(v, polResource))),
    );
  }
  const prefix = text(q, "policyNamePrefix")?.toLowerCase();
  if (prefix !== undefined) out.push((p) => (p.name ?? "").toLowerCase().startsWith(prefix));
  if (labelsPartial !== undefined) {
    out.push((p) => (p.policyLabels ?? []).some((l) => containsIgnoreCase(l, labelsPartial)));
  }
  const priority = text(q, "policyPriority")?.toUpperCase();
  if (priority !== undefined) {
    const wanted = priority === "NORMAL" || priority === "0" ? 0 : priority === "OVERRIDE" || priority === "1" ? 1 : -1;
    if (wanted < 0) throw invalid("policyPriority", "enum", "must be NORMAL, OVERRIDE, 0 or 1");
    out.push((p) => (p.policyPriority ?? 0) === wanted);
  }
  const recursive = booleanParam(q, "isRecursive");
  if (recursive !== undefined) {
    out.push((p) => Object.values(p.resources ?? {}).some((r) => r?.isRecursive === true) === recursive);
  }
  return out;
}
