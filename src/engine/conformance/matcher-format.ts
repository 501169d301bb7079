import { ElementMatcher, type MatchEnv } from "../match/element-matcher.ts";
import { type MatchScope, matchTypeInScope, PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import { prepareServiceDef } from "../model/service-def.ts";
import type { RangerPolicy, RangerPolicyResource, RangerResourceDef, RangerServiceDef } from "../types.ts";
import { check, type FileReport } from "./report.ts";

/**
 * Ranger's resource-matcher test formats: element matchers (`TestResourceMatcher`) and
 * policy-level matchers (`TestDefaultPolicyResourceMatcher`, `…ForPolicy`).
 */
type Json = Record<string, unknown>;

function envFrom(ctx: Json | undefined): MatchEnv {
  const c = ctx ?? {};
  return {
    token: (name) => c[`token:${name}`],
    resolveExpressions: (t) => t,
  };
}

export function runElementMatcherFile(file: Json, report: FileReport): void {
  for (const tc of (file.testCases as Json[]) ?? []) {
    const def = { name: "resource", ...(tc.resourceDef as Json) } as RangerResourceDef;
    const matcher = new ElementMatcher(def, tc.policyResource as RangerPolicyResource);
    for (const t of (tc.tests as Json[]) ?? []) {
      const got = matcher.isMatch(t.input as string, undefined, envFrom(t.evalContext as Json));
      check(report, `${tc.name} / ${t.name} [${String(t.input)}]`, t.result === true, got);
    }
  }
}

const TYPE_TO_SCOPE: Record<string, MatchScope> = {
  exactMatch: "SELF",
  selfOrDescendantMatch: "SELF_OR_DESCENDANT",
  descendantMatch: "DESCENDANT",
  selfOrAncestorMatch: "SELF_OR_ANCESTOR",
  ancestorMatch: "ANCESTOR",
  selfAndAllDescendants: "SELF_AND_ALL_DESCENDANTS",
  anyMatch: "ANY",
};

export function runPolicyMatcherFile(file: Json, report: FileReport): void {
  const sd = prepareServiceDef(file.serviceDef as RangerServiceDef);
  for (const tc of (file.testCases as Json[]) ?? []) {
    const matcher = new PolicyResourceMatcher(sd, 0, tc.policyResources as Record<string, RangerPolicyResource>);
    for (const t of (tc.tests as Json[]) ?? []) {
      const scope = TYPE_TO_SCOPE[String(t.type)] ?? "SELF";
      let got: boolean;
      if (t.policy) {
        got = policyMatches(matcher, t.policy as RangerPolicy, scope);
      } else {
        const mt = matcher.getMatchType(
          { elements: ((t.resource as Json)?.elements as Record<string, string>) ?? {} },
          undefined,
          envFrom(t.evalContext as Json),
        );
        got = matchTypeInScope(mt, scope);
      }
      check(report, `${tc.name} / ${t.name}`, t.result === true, got);
    }
  }
}

/**
 * Policy-vs-policy matching (`isMatch(RangerPolicy, scope)`): every resource value of the other
 * policy, taken as a request value, must match this policy's matcher for that resource.
 */
function policyMatches(matcher: PolicyResourceMatcher, policy: RangerPolicy, scope: MatchScope): boolean {
  const res = policy.resources ?? {};
  const names = Object.keys(res);
  if (scope === "SELF" && names.length !== matcher.keyCount) return false;
  for (const n of names) {
    const m = matcher.matchers.get(n);
    const values = res[n].values ?? [];
    if (!m) return false;
    for (const v of values) if (!m.isMatch(v, undefined, envFrom(undefined))) return false;
  }
  for (const n of matcher.matchers.keys()) if (!(n in res) && scope === "SELF") return false;
  return true;
}
