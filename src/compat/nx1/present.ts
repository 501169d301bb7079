import type { RangerPolicy } from "../../engine/types.ts";

/** A stored policy in the shape of Nx1's `GET /api/govern/data-access/policies/{policy_id}`. */
export function presentNx1Policy(p: RangerPolicy) {
  return {
    policy_id: p.id as number,
    policy_name: p.name ?? "",
    service: p.service ?? "",
    resources: p.resources ?? {},
    policyType: p.policyType ?? 0,
    isEnabled: p.isEnabled !== false,
    isAuditEnabled: p.isAuditEnabled !== false,
    policyItems: p.policyItems ?? [],
    denyPolicyItems: p.denyPolicyItems ?? [],
    allowExceptions: p.allowExceptions ?? [],
    denyExceptions: p.denyExceptions ?? [],
    rowFilterPolicyItems: p.rowFilterPolicyItems ?? [],
    dataMaskPolicyItems: p.dataMaskPolicyItems ?? [],
    policyPriority: p.policyPriority ?? 0,
    isDenyAllElse: p.isDenyAllElse === true,
    policyLabels: p.policyLabels ?? [],
    description: p.description ?? "",
  } as never;
}
