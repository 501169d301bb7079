/**
 * Ground truth for the `mix` workload, from the naive reference evaluator (test/reference), not from
 * the engine under test. The reference has no index, so each request is given only the policies that
 * can concern its schema (every mix policy names one literal schema, except the global ones) — a
 * sound pre-filter because a policy naming another schema can neither match nor be a candidate.
 * The reference does not model tags; the single PII tag policy (deny `select` to one group, normal
 * priority) is layered on as §2.2 describes: a tag deny can only be overridden by a resource policy
 * of higher priority, so for such requests the answer is the reference over the override policies.
 */
import type { RangerPolicy } from "../../src/engine/types.ts";
import { referenceEvaluate } from "../../test/reference/reference-evaluator.ts";
import type { MixCase, MixWorkload } from "./workload.ts";

export function mixGroundTruth(w: MixWorkload, c: MixCase): boolean | string | null {
  const el = c.request.resource.elements as Record<string, string>;
  const policies: RangerPolicy[] = [...w.globalPolicies, ...(w.policiesBySchema.get(el.schema) ?? [])];
  const input = { ...w.input, policies, tagPolicies: undefined, serviceTags: undefined };
  const tagDenied =
    c.policyType === 0 &&
    c.request.accessType === "select" &&
    w.taggedTables.has(`${el.catalog}.${el.schema}.${el.table}`) &&
    (c.request.userGroups ?? []).includes(w.piiGroup);
  if (tagDenied) {
    const overrides = policies.filter((p) => (p.policyPriority ?? 0) > 0);
    return referenceEvaluate({ ...input, policies: overrides.length > 0 ? overrides : [] }, c.request, 0).isAllowed;
  }
  const r = referenceEvaluate(input, c.request, c.policyType);
  if (c.kind === "mask") return r.maskType ?? null;
  if (c.kind === "rowfilter") return r.filterExpr ?? null;
  return r.isAllowed;
}
