import { fieldError, ValidationFailed } from "../../errors.ts";
import type { PolicySearch } from "../../policies/policies.search.ts";
import type { MatchScope } from "../../policies/resource-filter.ts";

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
 * `policyName`, `policyNamePartial`, `policyLabel` (or `policyLabelsPartial`), `user`, `group`,
 * `role`, `policyType`, `isEnabled`, `zoneName`, `resource:<name>=<value>` with
 * `resourceMatchScope`, and `policyId`. Parameters Gatehouse does not filter on are ignored, as
 * Ranger ignores unknown ones; a malformed value is a 400 naming it.
 */
export function policySearchOf(q: Record<string, unknown>): {
  search: PolicySearch;
  policyId?: number;
  paging: Paging;
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
    policyLabel: text(q, "policyLabel") ?? text(q, "policyLabelsPartial"),
    user: text(q, "user"),
    group: text(q, "group"),
    role: text(q, "role"),
    policyType: integer(q, "policyType", 0, 2),
    isEnabled: enabled === undefined ? undefined : enabled === "true",
    zoneName: text(q, "zoneName"),
    resources,
    resourceMatchScope: scope,
  };
  const paging = {
    startIndex: integer(q, "startIndex", 0, Number.MAX_SAFE_INTEGER) ?? 0,
    pageSize: integer(q, "pageSize", 1, MAX_PAGE) ?? DEFAULT_PAGE,
  };
  return { search, policyId: integer(q, "policyId", 1, Number.MAX_SAFE_INTEGER), paging };
}
