import type { MatchType } from "./match/policy-resource-matcher.ts";
import type { ItemEvaluator } from "./policy/item-evaluator.ts";
import { PolicyEvaluator } from "./policy/policy-evaluator.ts";
import type { RequestState } from "./policy/request-state.ts";
import type { PolicyRepository } from "./repository/policy-repository.ts";
import type { RangerAccessRequest, RangerAccessResult, RangerTagForEval } from "./types.ts";

/**
 * Explain mode: the decision for a request plus, for every candidate policy the index returned
 * (tag policies per tag, then resource policies, each in evaluation order), whether its resources
 * matched, whether its validity schedule and conditions held, which item matched or why none did,
 * and which policy decided. Built by re-walking the same compiled policies the decision used; it
 * never changes the decision (`result` is the engine's own answer).
 */

export type ItemKindName = "allow" | "deny" | "allowException" | "denyException" | "dataMask" | "rowFilter";

export interface ExplainedItem {
  kind: ItemKindName;
  /** position in the policy's list as written */
  index: number;
  principalMatched: boolean;
  accessMatched: boolean;
  conditionsMatched: boolean;
  /** all three held */
  matched: boolean;
}

export interface ExplainedPolicy {
  policyId: number;
  policyName: string;
  source: "resource" | "tag";
  /** the tag through which a tag policy applies */
  tag?: string;
  zoneName?: string;
  priority: number;
  /** false when outside every validity schedule */
  scheduleApplicable: boolean;
  matchType: MatchType;
  resourceMatched: boolean;
  policyConditionsMatched: boolean;
  items: ExplainedItem[];
  /** what this policy says about the request on its own */
  verdict: "allow" | "deny" | "deny-all-else" | "mask" | "row-filter" | "no-match";
  /** one line: why it did or did not apply */
  reason: string;
  /** this policy produced the final decision */
  decided: boolean;
}

export interface Explanation {
  result: RangerAccessResult;
  policyType: number;
  accessType: string;
  zoneName?: string;
  candidates: ExplainedPolicy[];
  decidedBy: { policyId: number; reason?: string } | null;
}

/** What explain needs from the engine. */
export interface ExplainHost {
  preProcess(request: RangerAccessRequest, policyType?: number): RequestState;
  zoneNamesFor(state: RequestState): string[];
  repositoryFor(zoneName: string | undefined): PolicyRepository;
  tagCandidates(
    state: RequestState,
    policyType: number,
    zoneName: string | undefined,
  ): { ev: PolicyEvaluator; tag: RangerTagForEval; tagState: RequestState }[];
  isAccessAllowed(request: RangerAccessRequest): RangerAccessResult;
  evaluateDataMask(request: RangerAccessRequest): RangerAccessResult;
  evaluateRowFilter(request: RangerAccessRequest): RangerAccessResult;
}

function explainItems(
  kind: ItemKindName,
  items: readonly ItemEvaluator[],
  state: RequestState,
  accessTypes: readonly string[],
): ExplainedItem[] {
  return items.map((it) => {
    const principalMatched = it.matchesPrincipal(state);
    const accessMatched = accessTypes.some((a) => it.matchesAccess(a));
    const conditionsMatched = it.matchesConditions(state);
    return {
      kind,
      index: it.index,
      principalMatched,
      accessMatched,
      conditionsMatched,
      matched: principalMatched && accessMatched && conditionsMatched,
    };
  });
}

function explainPolicy(
  ev: PolicyEvaluator,
  state: RequestState,
  source: "resource" | "tag",
  tag: RangerTagForEval | undefined,
  policyType: number,
): ExplainedPolicy {
  const scheduleApplicable = ev.isApplicable(state.accessTime);
  const isTag = source === "tag";
  let matchType = ev.matchType(state);
  if (isTag && matchType !== "NONE") matchType = (tag?.matchType ?? "SELF") as MatchType;
  const resourceMatched = PolicyEvaluator.isMatchTypeAccepted(matchType, state, isTag);
  const policyConditionsMatched = ev.policyConditionsMatch(state);
  const accessTypes =
    state.accessType === "_admin" ? ["_admin"] : state.isAnyAccess ? ["_any"] : state.requestedAccessTypes;
  const items =
    policyType === 0
      ? [
          ...explainItems("deny", ev.denyItems, state, accessTypes),
          ...explainItems("denyException", ev.denyExceptions, state, accessTypes),
          ...explainItems("allow", ev.allowItems, state, accessTypes),
          ...explainItems("allowException", ev.allowExceptions, state, accessTypes),
        ]
      : policyType === 1
        ? explainItems("dataMask", ev.dataMaskItems, state, accessTypes)
        : explainItems("rowFilter", ev.rowFilterItems, state, accessTypes);
  const base = {
    policyId: ev.id,
    policyName: ev.name,
    source,
    tag: tag?.type,
    zoneName: ev.zoneName,
    priority: ev.priority,
    scheduleApplicable,
    matchType,
    resourceMatched,
    policyConditionsMatched,
    items,
    decided: false,
  };
  const no = (reason: string): ExplainedPolicy => ({ ...base, verdict: "no-match", reason });
  if (!scheduleApplicable) return no("outside its validity schedule");
  if (!resourceMatched)
    return no(
      matchType === "NONE"
        ? "resources do not match"
        : `resources match as ${matchType}, which does not count for this request`,
    );
  if (!policyConditionsMatched) return no("a policy condition is false");
  const first = (kind: ItemKindName) => items.find((i) => i.kind === kind && i.matched);
  if (policyType !== 0) {
    const hit = first(policyType === 1 ? "dataMask" : "rowFilter");
    if (hit)
      return { ...base, verdict: policyType === 1 ? "mask" : "row-filter", reason: `item #${hit.index} matches` };
    return no(whyNoItem(items));
  }
  const deny = first("deny");
  const denyEx = first("denyException");
  if (deny && !denyEx) {
    const ignored = matchType === "DESCENDANT" && state.ignoreDescendantDeny;
    if (!ignored) return { ...base, verdict: "deny", reason: `deny item #${deny.index} matches` };
  }
  const allow = first("allow");
  const allowEx = first("allowException");
  if (allow && !allowEx) return { ...base, verdict: "allow", reason: `allow item #${allow.index} matches` };
  if (ev.isDenyAllElse) return { ...base, verdict: "deny-all-else", reason: "no allow item matches; deny-all-else" };
  if (allow && allowEx) return no(`allow item #${allow.index} is excepted by allow exception #${allowEx.index}`);
  if (deny && denyEx) return no(`deny item #${deny.index} is excepted by deny exception #${denyEx.index}`);
  return no(whyNoItem(items));
}

function whyNoItem(items: readonly ExplainedItem[]): string {
  if (items.length === 0) return "the policy has no items of this kind";
  if (!items.some((i) => i.principalMatched)) return "no item names this user, a group or a role of the user";
  if (!items.some((i) => i.principalMatched && i.accessMatched))
    return "items for this principal do not grant the access type";
  return "the items for this principal and access have a false condition";
}

/** Explains a request; `policyType` 0 access (default), 1 data mask, 2 row filter. */
export function explainRequest(host: ExplainHost, request: RangerAccessRequest, policyType = 0): Explanation {
  const result =
    policyType === 1
      ? host.evaluateDataMask(request)
      : policyType === 2
        ? host.evaluateRowFilter(request)
        : host.isAccessAllowed(request);
  const state = host.preProcess(request, policyType);
  const zones = host.zoneNamesFor(state);
  const zoneName = result.zoneName ?? (zones.length === 1 ? zones[0] : undefined);
  const candidates: ExplainedPolicy[] = [];
  for (const { ev, tag, tagState } of host.tagCandidates(state, policyType, zoneName))
    candidates.push(explainPolicy(ev, tagState, "tag", tag, policyType));
  const repo = host.repositoryFor(zoneName);
  for (const ev of repo.candidates(state, policyType).evaluators)
    candidates.push(explainPolicy(ev, state, "resource", undefined, policyType));
  const decided = result.policyId !== -1 ? result.policyId : null;
  let decidedBy: Explanation["decidedBy"] = null;
  if (decided !== null) {
    for (const c of candidates)
      if (c.policyId === decided) {
        c.decided = true;
        break;
      }
    decidedBy = { policyId: decided, reason: result.reason };
  } else if (result.reason === "superuser") decidedBy = { policyId: -1, reason: "superuser" };
  return {
    result,
    policyType,
    accessType: state.accessType,
    zoneName,
    candidates,
    decidedBy,
  };
}
