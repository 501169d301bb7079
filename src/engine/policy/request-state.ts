import type { MatchEnv } from "../match/element-matcher.ts";
import type { RangerAccessRequest, RangerTagForEval } from "../types.ts";
import type { PrincipalBits } from "./principal-bits.ts";

/**
 * Everything derived from one request that policy evaluation needs, computed once (or lazily,
 * on first use) and shared by every candidate policy: folded access type, the group set, roles,
 * the token context, and scratch maps Ranger keeps in the request context.
 */
export interface RequestState {
  readonly request: RangerAccessRequest;
  readonly user: string | undefined;
  readonly groups: readonly string[];
  /**
   * the user's and groups' principal bits, low and high word (policy/principal-bits.ts), computed on
   * first use by `PrincipalBits.fill`: most requests never evaluate a policy that needs them
   */
  principalMaskReady: boolean;
  principalMaskLo: number;
  principalMaskHi: number;
  readonly principalBits: PrincipalBits;
  /** lower-cased requested access type; "_any" for empty */
  readonly accessType: string;
  readonly isAnyAccess: boolean;
  /** access types requested (all service types for `_any`), lower-cased */
  readonly requestedAccessTypes: readonly string[];
  /**
   * Ranger's `ALLACCESSTYPES` is in the request context (`_any`, or the host listed the types):
   * items are evaluated per access type through `accessTypeResults`. Otherwise a policy's matching
   * item updates the result directly (RangerDefaultPolicyEvaluator#evaluatePolicyItems, else branch).
   */
  readonly accessTypesListed: boolean;
  /** whether DESCENDANT matches count (any-access or SELF_OR_DESCENDANTS scope) */
  readonly descendantsCount: boolean;
  readonly ignoreDescendantDeny: boolean;
  readonly accessTime: number;
  /** the request context (tokens and attributes) */
  readonly context: Record<string, unknown>;
  readonly env: MatchEnv;
  /** roles of the user; computed on first use */
  roles(): ReadonlySet<string>;
  /** When evaluating tag policies: the tag being evaluated. */
  tag?: RangerTagForEval;
  /** all tags of the request resource */
  tags?: readonly RangerTagForEval[];
  /**
   * per-access-type results shared across the policies of one evaluation, tag policies and resource
   * policies alike (Ranger's ACCESS_TYPE_RESULTS lives in the request context, which
   * RangerTagAccessRequest shares; evaluatePoliciesForOneAccessTypeNoAudit clears it at its end)
   */
  accessTypeResults?: AccessTypeResults;
  /** `ALLACCESSTYPEGROUPS` when descendant denies are not ignored for `_any` */
  accessTypeGroups?: readonly (readonly string[])[];
}

/**
 * Ranger's ACCESS_TYPE_RESULTS for one evaluation: access type → outcome, with Map's get/set
 * semantics. Requests name one access type almost always, so the first entry lives inline and a
 * Map is made only for a second one (one small object per allowed decision instead of a Map).
 */
export class AccessTypeResults {
  private k0: string | undefined = undefined;
  private v0: PartialResult | undefined = undefined;
  private more: Map<string, PartialResult> | null = null;

  get(accessType: string): PartialResult | undefined {
    if (this.k0 === accessType) return this.v0;
    return this.more === null ? undefined : this.more.get(accessType);
  }

  set(accessType: string, result: PartialResult): void {
    if (this.k0 === undefined || this.k0 === accessType) {
      this.k0 = accessType;
      this.v0 = result;
      return;
    }
    if (this.more === null) this.more = new Map();
    this.more.set(accessType, result);
  }
}

/** One access type's outcome from one policy. */
export interface PartialResult {
  allowed: boolean;
  policyId: number;
  policyPriority: number;
  policyVersion: number | undefined;
  reason: string | undefined;
  zoneName: string | undefined;
}
