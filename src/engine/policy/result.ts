import type { RangerAccessResult } from "../types.ts";

/** A fresh, undetermined result (Ranger's `RangerAccessResult` defaults). */
export function newResult(policyType: number): RangerAccessResult {
  return {
    isAccessDetermined: false,
    isAllowed: false,
    isAuditedDetermined: false,
    isAudited: false,
    auditPolicyId: -1,
    policyId: -1,
    policyPriority: 0,
    policyVersion: undefined,
    zoneName: undefined,
    reason: undefined,
    evaluatedPoliciesCount: 0,
    policyType,
    maskType: undefined,
    maskCondition: undefined,
    maskedValue: undefined,
    filterExpr: undefined,
  };
}

/** Ranger's `setAccessResultFrom`: copies the access decision and its provenance. */
export function copyAccess(to: RangerAccessResult, from: RangerAccessResult): void {
  to.isAccessDetermined = from.isAccessDetermined;
  to.isAllowed = from.isAllowed;
  to.policyId = from.policyId;
  to.policyPriority = from.policyPriority;
  to.policyVersion = from.policyVersion;
  to.zoneName = from.zoneName;
  to.reason = from.reason;
  to.maskType = from.maskType;
  to.maskCondition = from.maskCondition;
  to.maskedValue = from.maskedValue;
  to.filterExpr = from.filterExpr;
}

/** Ranger's `setAuditResultFrom`. */
export function copyAudit(to: RangerAccessResult, from: RangerAccessResult): void {
  to.isAuditedDetermined = from.isAuditedDetermined;
  to.isAudited = from.isAudited;
  to.auditPolicyId = from.auditPolicyId;
}

export function setAudited(res: RangerAccessResult, audited: boolean): void {
  res.isAudited = audited;
  res.isAuditedDetermined = true;
}
