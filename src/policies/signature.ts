import { createHash } from "node:crypto";
import type { RangerPolicy, RangerPolicyResources } from "../engine/types.ts";

function resourceString(resources: RangerPolicyResources): string {
  const parts = Object.keys(resources)
    .sort()
    .map((name) => {
      const r = resources[name] ?? {};
      const values = [...(r.values ?? [])].sort();
      return `${name}={values=[${values.join(", ")}],excludes=${r.isExcludes === true},recursive=${r.isRecursive === true}}`;
    });
  return `{${parts.join(", ")}}`;
}

/**
 * Ranger's resource signature (`RangerPolicyResourceSignature`, ranger-semantics §1.6): sha256 of
 * a canonical string of the policy type, its resources (values sorted), additional resources,
 * validity schedules, a non-default priority, the zone and policy conditions. A disabled policy
 * mixes in its guid, so it never blocks an enabled one covering the same resources. Two policies
 * of one service with equal signatures are rejected (409), which is what keeps "who can do what
 * on X" answerable by one policy per type.
 */
export function resourceSignature(policy: RangerPolicy, guid: string): string {
  let text = `{version=1,type=${policy.policyType ?? 0},resource=${resourceString(policy.resources ?? {})}}`;
  const additional = (policy.additionalResources ?? []).map(resourceString).sort();
  if (additional.length > 0) text += `,additionalResources=[${additional.join(", ")}]`;
  if (policy.validitySchedules && policy.validitySchedules.length > 0) {
    text += `,validitySchedules=${JSON.stringify(policy.validitySchedules)}`;
  }
  if (policy.policyPriority) text += `,priority=${policy.policyPriority}`;
  if (policy.zoneName) text += `,zoneName=${policy.zoneName}`;
  if (policy.conditions && policy.conditions.length > 0) {
    const conds = policy.conditions
      .map((c) => `${c.type}=[${[...(c.values ?? [])].sort().join(", ")}]`)
      .sort()
      .join(", ");
    text += `,{RangerPolicyConditions={${conds}}}`;
  }
  if (policy.isEnabled === false) text += `,guid=${guid}`;
  return createHash("sha256").update(text).digest("hex");
}
