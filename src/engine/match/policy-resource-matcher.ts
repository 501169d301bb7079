import type { PreparedServiceDef } from "../model/service-def.ts";
import type {
  RangerAccessResource,
  RangerPolicyResources,
  RangerResourceDef,
  ResourceElementMatchingScope,
} from "../types.ts";
import { ElementMatcher, type MatchEnv } from "./element-matcher.ts";

/**
 * Policy-level resource matching (Ranger's `RangerDefaultPolicyResourceMatcher`): given a policy's
 * resource spec and a request resource, decides whether the request is the policy's resource
 * itself (SELF), something below it (DESCENDANT), above it (ANCESTOR), or — when every level
 * below the request is match-any — the resource and all its descendants.
 */
export type MatchType = "NONE" | "SELF" | "DESCENDANT" | "ANCESTOR" | "SELF_AND_ALL_DESCENDANTS";

/** Scopes used by Ranger's policy-matcher tests and by policy-for-resource lookups. */
export type MatchScope =
  | "SELF"
  | "SELF_OR_DESCENDANT"
  | "SELF_OR_ANCESTOR"
  | "DESCENDANT"
  | "ANCESTOR"
  | "ANY"
  | "SELF_AND_ALL_DESCENDANTS"
  | "SELF_OR_ANCESTOR_OR_DESCENDANT";

export function matchTypeInScope(mt: MatchType, scope: MatchScope): boolean {
  switch (scope) {
    case "SELF":
      return mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS";
    case "SELF_OR_DESCENDANT":
      return mt === "SELF" || mt === "DESCENDANT" || mt === "SELF_AND_ALL_DESCENDANTS";
    case "SELF_OR_ANCESTOR":
      return mt === "SELF" || mt === "ANCESTOR" || mt === "SELF_AND_ALL_DESCENDANTS";
    case "DESCENDANT":
      return mt === "DESCENDANT";
    case "ANCESTOR":
      return mt === "ANCESTOR";
    // Ranger's isMatch(scope, matchType) has no case for this scope: it falls to "any match"
    case "SELF_AND_ALL_DESCENDANTS":
    case "ANY":
    case "SELF_OR_ANCESTOR_OR_DESCENDANT":
      return mt !== "NONE";
  }
}

interface HierarchyPlan {
  readonly levels: readonly RangerResourceDef[];
  readonly names: ReadonlySet<string>;
  /** index (within levels) of the last level whose matcher is not match-any; -1 if none */
  readonly lastNonAnyIndex: number;
}

export class PolicyResourceMatcher {
  readonly resources: RangerPolicyResources;
  readonly matchers: ReadonlyMap<string, ElementMatcher>;
  readonly keyCount: number;
  readonly isDynamic: boolean;
  /** hierarchies the policy's keys fit (keys form a root-anchored chain of the hierarchy) */
  private readonly plans: readonly HierarchyPlan[];

  constructor(serviceDef: PreparedServiceDef, policyType: number, resources: RangerPolicyResources | undefined) {
    this.resources = resources ?? {};
    const defs = serviceDef.resourcesByType[policyType] ?? serviceDef.resourcesByType[0];
    const matchers = new Map<string, ElementMatcher>();
    let dynamic = false;
    for (const [name, res] of Object.entries(this.resources)) {
      if (!res) continue;
      const m = new ElementMatcher(defs.get(name) ?? { name }, res);
      dynamic ||= m.isDynamic;
      matchers.set(name, m);
    }
    this.matchers = matchers;
    this.keyCount = matchers.size;
    this.isDynamic = dynamic;
    const hierarchies = serviceDef.hierarchiesByType[policyType] ?? serviceDef.hierarchiesByType[0];
    const plans: HierarchyPlan[] = [];
    for (const h of hierarchies) {
      const names = new Set(h.map((d) => d.name));
      let fits = true;
      for (const k of matchers.keys()) if (!names.has(k)) fits = false;
      if (!fits) continue;
      let last = -1;
      for (let i = 0; i < h.length; i++) {
        const m = matchers.get(h[i].name);
        if (m && !m.isMatchAny) last = i;
      }
      plans.push({ levels: h, names, lastNonAnyIndex: last });
    }
    this.plans = plans;
  }

  /** Chooses the hierarchy for a request: the policy's only one, else the one holding all request keys. */
  private planFor(keys: readonly string[]): HierarchyPlan | undefined {
    if (this.plans.length === 1) {
      const p = this.plans[0];
      for (const k of keys) if (!p.names.has(k)) return undefined;
      return p;
    }
    outer: for (const p of this.plans) {
      for (const k of keys) if (!p.names.has(k)) continue outer;
      return p;
    }
    return undefined;
  }

  /** Ranger's `getMatchType`. */
  getMatchType(
    resource: RangerAccessResource,
    scopes: Record<string, ResourceElementMatchingScope> | undefined,
    env: MatchEnv,
  ): MatchType {
    const elements = resource.elements;
    const keys: string[] = [];
    for (const k in elements) {
      const v = elements[k];
      if (v !== undefined && v !== null) keys.push(k);
    }
    if (this.keyCount === 0 && keys.length === 0) return "SELF";
    // a policy without resources matches only a request without resources (Ranger's matcher fails to init)
    if (this.keyCount === 0) return "NONE";
    const plan = this.planFor(keys);
    if (!plan) return "NONE";
    let ret: MatchType = keys.length === 0 ? "SELF" : "NONE";
    const levels = plan.levels;
    let gap = false;
    for (let i = 0; i < levels.length; i++) {
      const name = levels[i].name;
      const m = this.matchers.get(name);
      const v = elements[name];
      const present = v !== undefined && v !== null;
      // INVARIANT: request keys must be a root-anchored chain; a key below a missing level matches nothing
      if (!present) gap = true;
      else if (gap) return "NONE";
      if (m) {
        if (present || m.isMatchAny) {
          ret = m.isMatch(present ? v : null, scopes?.[name], env) ? "SELF" : "NONE";
          if (ret === "NONE") break;
        }
      } else {
        if (present) ret = "ANCESTOR";
        break;
      }
    }
    if (ret === "SELF" && keys.length < this.keyCount) {
      ret = keys.length > plan.lastNonAnyIndex ? "SELF_AND_ALL_DESCENDANTS" : "DESCENDANT";
    }
    return ret;
  }
}

/**
 * Policy-vs-policy matching (Ranger's `RangerDefaultPolicyResourceMatcher#isMatch(RangerPolicy,
 * scope)`): walks the shortest hierarchy holding the other policy's keys, building a resource level
 * by level from the first of its values that matches at that level, and checks the final match
 * type against the scope.
 */
export function matchesPolicyResources(
  matcher: PolicyResourceMatcher,
  serviceDef: PreparedServiceDef,
  policyType: number,
  resources: RangerPolicyResources,
  scope: MatchScope,
  env: MatchEnv,
): boolean {
  const keys = Object.keys(resources).filter((k) => resources[k]);
  if (keys.length === 0 || matcher.keyCount === 0) return false;
  let hierarchy: readonly RangerResourceDef[] | undefined;
  for (const h of serviceDef.hierarchiesByType[policyType] ?? []) {
    const names = new Set(h.map((d) => d.name));
    if (!keys.every((k) => names.has(k))) continue;
    if (!hierarchy || h.length < hierarchy.length) hierarchy = h;
  }
  if (!hierarchy) return false;
  const elements: Record<string, string> = {};
  let ret = false;
  let mt: MatchType = "NONE";
  let skipped = false;
  for (const def of hierarchy) {
    const values = resources[def.name]?.values ?? [];
    if (values.length > 0) {
      ret = false;
      mt = "NONE";
      if (skipped) break;
      for (const v of values) {
        elements[def.name] = v;
        mt = matcher.getMatchType({ elements }, undefined, env);
        if (mt !== "NONE") {
          ret = true;
          break;
        }
      }
    } else skipped = true;
    if (!ret) break;
  }
  return ret && matchTypeInScope(mt, scope);
}
