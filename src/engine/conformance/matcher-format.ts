import { ElementMatcher, type MatchEnv } from "../match/element-matcher.ts";
import {
  type MatchScope,
  matchesPolicyResources,
  matchTypeInScope,
  PolicyResourceMatcher,
} from "../match/policy-resource-matcher.ts";
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

/**
 * `serviceDefOverride`: Ranger's `TestDefaultPolicyResourceMatcher` also runs
 * test_defaultpolicyresourcematcher.json against `/admin/service-defs/test-hive-servicedef.json`;
 * those cases are reported with the suffix ` [hive service-def]`.
 */
export function runPolicyMatcherFile(file: Json, report: FileReport, serviceDefOverride?: RangerServiceDef): void {
  const sd = prepareServiceDef(serviceDefOverride ?? (file.serviceDef as RangerServiceDef));
  const suffix = serviceDefOverride ? " [hive service-def]" : "";
  for (const tc of (file.testCases as Json[]) ?? []) {
    const matcher = new PolicyResourceMatcher(sd, 0, tc.policyResources as Record<string, RangerPolicyResource>);
    for (const t of (tc.tests as Json[]) ?? []) {
      const scope = TYPE_TO_SCOPE[String(t.type)] ?? "SELF";
      let got: boolean;
      if (t.policy) {
        const p = t.policy as RangerPolicy;
        got =
          (p.policyType ?? 0) === 0 &&
          matchesPolicyResources(matcher, sd, 0, p.resources ?? {}, scope, envFrom(t.evalContext as Json));
      } else {
        const mt = matcher.getMatchType(
          { elements: ((t.resource as Json)?.elements as Record<string, string>) ?? {} },
          undefined,
          envFrom(t.evalContext as Json),
        );
        got = matchTypeInScope(mt, scope);
      }
      check(report, `${tc.name} / ${t.name}${suffix}`, t.result === true, got);
    }
  }
}
