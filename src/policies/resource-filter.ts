import type { RangerPolicyResource, RangerPolicyResources, RangerResourceDef } from "../engine/types.ts";

/** Ranger's `resourceMatchScope` of a resource search. */
export type MatchScope = "self" | "ancestor" | "self_or_ancestor";

const patterns = new Map<string, RegExp>();

function patternOf(value: string, ignoreCase: boolean): RegExp {
  const key = `${ignoreCase ? "i" : "c"}:${value}`;
  let re = patterns.get(key);
  if (!re) {
    const body = value
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    re = new RegExp(`^${body}$`, ignoreCase ? "i" : "");
    if (patterns.size > 10_000) patterns.clear();
    patterns.set(key, re);
  }
  return re;
}

/** True when a policy resource (values, excludes, recursive) covers `value`. */
export function resourceCovers(resource: RangerPolicyResource, value: string, def?: RangerResourceDef): boolean {
  const ignoreCase = String(def?.matcherOptions?.ignoreCase ?? "true") !== "false";
  const wildCard = String(def?.matcherOptions?.wildCard ?? "true") !== "false";
  const hit = (resource.values ?? []).some((v) => {
    if (v === "*" && wildCard) return true;
    const matches = wildCard
      ? patternOf(v, ignoreCase).test(value)
      : ignoreCase
        ? v.toLowerCase() === value.toLowerCase()
        : v === value;
    if (matches) return true;
    if (resource.isRecursive) {
      const prefix = v.endsWith("/") ? v : `${v}/`;
      return (ignoreCase ? value.toLowerCase() : value).startsWith(ignoreCase ? prefix.toLowerCase() : prefix);
    }
    return false;
  });
  return resource.isExcludes ? !hit : hit;
}

/**
 * Decides whether a policy's resources answer a resource search (`resource:schema=sales`):
 * every searched key the policy names must cover the searched value; a searched key the policy
 * does not name is allowed only below the policy's deepest level (the policy is then an
 * ancestor). Keys below the searched level that match anything (`*`, not excludes) do not make a
 * policy deeper: `sales.orders.*` answers a table-level search like `sales.orders` does (Ranger's
 * SELF_AND_ALL_DESCENDANTS counts as SELF). `self` keeps policies whose deepest level is the
 * deepest searched level, `ancestor` those above it, `self_or_ancestor` both. Policies that only
 * reach below the searched level (`sales.orders.ssn`) never match.
 */
export function matchesResourceSearch(
  resources: RangerPolicyResources,
  search: Record<string, string>,
  defs: Map<string, RangerResourceDef>,
  scope: MatchScope,
): boolean {
  const level = (name: string) => defs.get(name)?.level ?? 0;
  const searchDepth = Math.max(...Object.keys(search).map(level));
  const policyKeys = Object.keys(resources);
  for (const name of policyKeys) {
    if (level(name) > searchDepth && !matchesAnything(resources[name] as RangerPolicyResource, defs.get(name)))
      return false;
  }
  const policyDepth = Math.max(0, ...policyKeys.map(level).filter((l) => l <= searchDepth));
  for (const [name, value] of Object.entries(search)) {
    const resource = resources[name];
    if (resource) {
      if (!resourceCovers(resource, value, defs.get(name))) return false;
    } else if (level(name) <= policyDepth) {
      return false;
    }
  }
  if (scope === "self") return policyDepth === searchDepth;
  if (scope === "ancestor") return policyDepth < searchDepth;
  return true;
}

/** Ranger's `isMatchAny`: no values, or `*` with wildcards on, and not an excludes list. */
function matchesAnything(resource: RangerPolicyResource, def?: RangerResourceDef): boolean {
  if (resource.isExcludes) return false;
  const values = resource.values ?? [];
  const wildCard = String(def?.matcherOptions?.wildCard ?? "true") !== "false";
  return values.length === 0 || (wildCard && values.includes("*"));
}
