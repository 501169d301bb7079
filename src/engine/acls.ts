import type { MatchEnv } from "./match/element-matcher.ts";
import { type MatchType, PolicyResourceMatcher } from "./match/policy-resource-matcher.ts";
import type { PreparedServiceDef } from "./model/service-def.ts";
import { AclCollector, policyAclSummary } from "./policy/acl.ts";
import { compareByName, MATCH_TYPE_RANK } from "./policy/order.ts";
import { compareEvalOrder, type PolicyEvaluator } from "./policy/policy-evaluator.ts";
import type { RequestState } from "./policy/request-state.ts";
import type { PolicyRepository } from "./repository/policy-repository.ts";
import type {
  RangerAccessRequest,
  RangerPolicyResources,
  RangerResourceDef,
  RangerTagForEval,
  ResourceACLs,
} from "./types.ts";

/**
 * Ranger's `RangerPolicyEngineImpl#getResourceACLs`: for each policy type whose hierarchy the
 * resource fits, every tag policy (through the resource's tags) and resource policy that matches
 * the resource is folded, in evaluation order, into users/groups/roles → access type → result,
 * plus the data-mask and row-filter entries. Nothing request-specific is evaluated: policy and
 * item conditions, validity schedules and `{USER}`-style macros make an entry CONDITIONAL.
 */

/** What ACL computation needs from the engine. */
export interface AclHost {
  readonly serviceDef: PreparedServiceDef;
  preProcess(request: RangerAccessRequest, policyType?: number): RequestState;
  zoneNamesFor(state: RequestState): string[];
  repositoryFor(zoneName: string | undefined): PolicyRepository;
  readonly tagRepository: PolicyRepository | null;
  tagState(state: RequestState, tag: RangerTagForEval): RequestState;
  zoneHasTagService(zoneName: string | undefined): boolean;
}

/** Macros replaced by `*` (Ranger's `getMacrosReplaceWithWildcardMatcher`). */
const WILDCARD_ENV: MatchEnv = {
  token: () => "*",
  resolveExpressions: (text) => text.replace(/\$\{\{[\s\S]*?\}\}/g, "*"),
};

const forcedWildcardDefs = new WeakMap<PreparedServiceDef, PreparedServiceDef>();
const wildcardMatchers = new WeakMap<PolicyResourceMatcher, PolicyResourceMatcher>();

/** The service-def with wildcard matching forced on for every resource (Ranger's `forceEnableWildcardMatch`). */
function withWildcards(sd: PreparedServiceDef): PreparedServiceDef {
  let out = forcedWildcardDefs.get(sd);
  if (!out) {
    const force = (d: RangerResourceDef): RangerResourceDef => ({
      ...d,
      matcherOptions: { ...(d.matcherOptions ?? {}), wildCard: "true" },
    });
    out = { ...sd, resourcesByType: sd.resourcesByType.map((m) => new Map([...m].map(([k, d]) => [k, force(d)]))) };
    forcedWildcardDefs.set(sd, out);
  }
  return out;
}

/** A policy's resource matcher with `{TOKEN}`s and `${{…}}` replaced by `*`, wildcards forced on. */
function macroWildcardMatcher(rm: PolicyResourceMatcher, sd: PreparedServiceDef, policyType: number) {
  let out = wildcardMatchers.get(rm);
  if (!out) {
    const resources: RangerPolicyResources = {};
    for (const [name, res] of Object.entries(rm.resources)) {
      const em = rm.matchers.get(name);
      resources[name] = em?.isDynamic
        ? { ...res, values: (res.values ?? []).map((v) => em.resolveValue(v, WILDCARD_ENV) ?? v) }
        : res;
    }
    out = new PolicyResourceMatcher(withWildcards(sd), policyType, resources);
    wildcardMatchers.set(rm, out);
  }
  return out;
}

function isMatch(mt: MatchType, state: RequestState): boolean {
  if (mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS") return true;
  return mt === "DESCENDANT" && state.request.resourceMatchingScope === "SELF_OR_DESCENDANTS";
}

/** `RangerServiceDefHelper#isValidHierarchy`. */
function isValidHierarchy(
  sd: PreparedServiceDef,
  policyType: number,
  keys: readonly string[],
  exact: boolean,
): boolean {
  for (const h of sd.hierarchiesByType[policyType] ?? []) {
    const names = new Set(h.map((d) => d.name));
    if (exact && names.size !== keys.length) continue;
    if (keys.every((k) => names.has(k))) return true;
  }
  return false;
}

export function computeResourceACLs(host: AclHost, request: RangerAccessRequest, policyType?: number): ResourceACLs {
  const req: RangerAccessRequest = { ...request, accessType: "_any" };
  const state = host.preProcess(req);
  const zones = host.zoneNamesFor(state);
  const zoneName = zones.length === 1 ? zones[0] : undefined;
  const keys = Object.keys(req.resource.elements).filter((k) => {
    const v = req.resource.elements[k];
    return v !== undefined && v !== null;
  });
  const acls = new AclCollector();
  const types = policyType === undefined ? [0, 1, 2] : [policyType];
  for (const type of types) {
    if (!isValidHierarchy(host.serviceDef, type, keys, type !== 0)) continue;
    const tagMatch = new Map<PolicyEvaluator, { mt: MatchType; temporal: boolean }>();
    const all: PolicyEvaluator[] = [];
    const tagRepo = host.tagRepository;
    if (tagRepo && state.tags && state.tags.length > 0) {
      const useDefaultZone = !host.zoneHasTagService(zoneName);
      const pairs: { ev: PolicyEvaluator; tag: RangerTagForEval }[] = [];
      for (const tag of state.tags) {
        const ts = host.tagState(state, tag);
        for (const ev of tagRepo.all(type)) {
          if (useDefaultZone ? ev.zoneName : ev.zoneName !== zoneName) continue;
          if (ev.matchType(ts) === "NONE") continue;
          pairs.push({ ev, tag });
        }
      }
      pairs.sort(
        (a, b) =>
          MATCH_TYPE_RANK[a.tag.matchType ?? "SELF"] - MATCH_TYPE_RANK[b.tag.matchType ?? "SELF"] ||
          compareByName(a.ev, b.ev),
      );
      for (const { ev, tag } of pairs) {
        const temporal = (tag.validityPeriods?.length ?? 0) > 0;
        const seen = tagMatch.get(ev);
        if (!seen) {
          tagMatch.set(ev, { mt: (tag.matchType ?? "SELF") as MatchType, temporal });
          all.push(ev);
        } else if (temporal) seen.temporal = true;
      }
    }
    const repo = host.repositoryFor(zoneName);
    for (const ev of repo.all(type)) all.push(ev);
    all.sort(compareEvalOrder);
    let priority: number | null = null;
    for (const ev of all) {
      if (priority === null) priority = ev.priority;
      if (priority !== ev.priority) {
        if (type === 0) acls.finalize();
        priority = ev.priority;
      }
      const fromTag = tagMatch.get(ev);
      let matched = false;
      let conditional = false;
      if (fromTag) {
        matched = isMatch(fromTag.mt === "ANCESTOR" ? "SELF" : fromTag.mt, state);
      } else {
        for (const rm of ev.resourceMatchers) {
          const mt = rm.getMatchType(req.resource, req.resourceElementMatchingScopes, state.env);
          if (isMatch(mt, state)) {
            matched = true;
            break;
          }
          if (rm.isDynamic && !conditional) {
            const wm = macroWildcardMatcher(rm, repo.ctx.serviceDef, ev.policyType);
            conditional = isMatch(wm.getMatchType(req.resource, req.resourceElementMatchingScopes, state.env), state);
          }
        }
      }
      if (!matched && !conditional) continue;
      if (!conditional)
        conditional =
          (fromTag?.temporal ?? false) || ev.conditions.length > 0 || (ev.policy.validitySchedules?.length ?? 0) > 0;
      const repoOfEv = fromTag ? tagRepo! : repo;
      const summary = policyAclSummary(ev, repoOfEv.ctx.serviceDef, (t) => repoOfEv.ctx.normalizeAccess(t));
      acls.addPolicy(summary, type, conditional, ev.policy);
    }
    acls.finalize();
  }
  return acls.result();
}
