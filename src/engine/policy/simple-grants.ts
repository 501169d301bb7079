import type { MatchType } from "../match/policy-resource-matcher.ts";
import { intern } from "../model/intern.ts";
import type { RangerAccessResult } from "../types.ts";
import type { PolicyEvaluator } from "./policy-evaluator.ts";
import { newResult } from "./result.ts";

/**
 * A compact, precomputed form of one candidate list for the common access case: every candidate is a
 * plain allow policy (one resource spec the index proved SELF, no conditions, no validity schedule,
 * no deny items, no exceptions, not deny-all-else) whose allow items name users, groups, `public`,
 * `{USER}` or `{OWNER}` without conditions or roles. For such a list Ranger's loop reduces to: the
 * first audit-enabled policy sets the audit, the first item (in evaluation order) matching the
 * principal and access type allows, and the loop stops once both are determined. Deciding from these
 * rows touches one small object per item instead of the index list, the evaluator, its item list,
 * the item and its principal sets, and allocates nothing but the result.
 *
 * The rows are derived from the evaluators (immutable once built) and cached on the index node that
 * owns the list, invalidated with it; `decideSimple` must give exactly what
 * `PolicyEngine#evaluateNoAudit` gives for the same list (the differential test in
 * simple-grants.test.ts runs both).
 */

const EMPTY: ReadonlySet<string> = new Set();

/** One allow item of a simple policy, with its policy's result fields; rows are chained in evaluation order. */
export class SimpleGrant {
  // declaration order is memory order: the fields every decision reads come first
  /** the item's only group when it names exactly one group and no other principal, else null */
  readonly group: string | null;
  /** lower-cased access types the item allows (implied grants expanded) */
  readonly accesses: ReadonlySet<string>;
  /** first row of its policy: the policy counts as evaluated and may set the audit */
  readonly startsPolicy: boolean;
  readonly isAuditEnabled: boolean;
  readonly policyId: number;
  /** `public` or `{USER}`: any (named) user matches */
  readonly isPublic: boolean;
  readonly hasUserToken: boolean;
  readonly hasOwner: boolean;
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly policyPriority: number;
  readonly policyVersion: number | undefined;
  next: SimpleGrant | null = null;

  constructor(ev: PolicyEvaluator, item: PolicyEvaluator["allowItems"][number] | null, startsPolicy: boolean) {
    this.startsPolicy = startsPolicy;
    this.isAuditEnabled = ev.isAuditEnabled;
    this.policyId = ev.id;
    this.policyPriority = ev.priority;
    this.policyVersion = ev.version;
    if (item === null) {
      // a policy without allow items: evaluated and audited, never allows
      this.group = null;
      this.accesses = EMPTY;
      this.isPublic = false;
      this.hasUserToken = false;
      this.hasOwner = false;
      this.users = EMPTY;
      this.groups = EMPTY;
      return;
    }
    this.accesses = item.accesses;
    this.isPublic = item.hasPublic;
    this.hasUserToken = item.hasUserToken;
    this.hasOwner = item.hasOwner;
    this.users = item.users;
    this.groups = item.groups;
    const onlyGroup =
      item.groups.size === 1 && item.users.size === 0 && !item.hasPublic && !item.hasUserToken && !item.hasOwner;
    this.group = onlyGroup ? intern(item.groups.values().next().value as string) : null;
  }
}

/** Whether a policy qualifies for the simple rows (see the file comment). */
function isSimple(ev: PolicyEvaluator, known: MatchType | undefined): boolean {
  if (known !== "SELF" || ev.policyType !== 0 || ev.specCount !== 1) return false;
  if (ev.hasSchedule || ev.hasDeny || ev.conditions.length > 0) return false;
  if (ev.allowExceptions.length > 0 || ev.denyExceptions.length > 0) return false;
  const items = ev.allowItems;
  for (let i = 0; i < items.length; i++) if (items[i].conditions.length > 0 || items[i].roles.size > 0) return false;
  return true;
}

/**
 * The rows for a candidate list: the first row (null for an empty list), or undefined when some
 * candidate is not simple and the full evaluator must run.
 */
export function buildSimpleGrants(
  evaluators: readonly PolicyEvaluator[],
  known: readonly (MatchType | undefined)[] | null,
): SimpleGrant | null | undefined {
  if (evaluators.length === 0) return null;
  if (known === null) return undefined;
  for (let i = 0; i < evaluators.length; i++) if (!isSimple(evaluators[i], known[i])) return undefined;
  let first: SimpleGrant | null = null;
  let last: SimpleGrant | null = null;
  const push = (g: SimpleGrant) => {
    if (last === null) first = g;
    else last.next = g;
    last = g;
  };
  for (const ev of evaluators) {
    const items = ev.allowItems;
    if (items.length === 0) push(new SimpleGrant(ev, null, true));
    for (let i = 0; i < items.length; i++) push(new SimpleGrant(ev, items[i], i === 0));
  }
  return first;
}

function principalMatches(
  g: SimpleGrant,
  user: string | undefined,
  groups: readonly string[],
  owner: string | undefined,
): boolean {
  const only = g.group;
  if (only !== null) {
    for (let i = 0; i < groups.length; i++) if (groups[i] === only) return true;
    return false;
  }
  // ItemEvaluator#matchesPrincipal without roles (rows never have roles)
  if (g.hasUserToken && user !== undefined && user !== null) return true;
  if (user !== undefined && g.users.has(user)) return true;
  if (g.isPublic) return true;
  if (g.groups.size > 0) for (let i = 0; i < groups.length; i++) if (g.groups.has(groups[i])) return true;
  if (g.hasOwner && user !== undefined && user === owner) return true;
  return false;
}

/**
 * Ranger's access loop over simple rows for one plain access type (lower-case, not `_any`/`_admin`),
 * no tags, no super user, audit mode "audit-default": the result `evaluateNoAudit` produces.
 */
export function decideSimple(
  first: SimpleGrant | null,
  accessType: string,
  user: string | undefined,
  groups: readonly string[],
  owner: string | undefined,
  isFallbackSupported: boolean,
): RangerAccessResult {
  const res = newResult(0);
  let evaluated = 0;
  let g = first;
  while (g !== null) {
    // g starts a policy
    if (res.isAuditedDetermined && res.isAccessDetermined) break;
    evaluated++;
    if (!res.isAuditedDetermined && g.isAuditEnabled) {
      res.isAudited = true;
      res.isAuditedDetermined = true;
      res.auditPolicyId = g.policyId;
    }
    do {
      if (!res.isAccessDetermined && g.accesses.has(accessType) && principalMatches(g, user, groups, owner)) {
        res.isAllowed = true;
        res.isAccessDetermined = true;
        res.policyId = g.policyId;
        res.policyPriority = g.policyPriority;
        res.policyVersion = g.policyVersion;
        res.reason = "matched allow item";
      }
      g = g.next;
    } while (g !== null && !g.startsPolicy);
  }
  res.evaluatedPoliciesCount = evaluated;
  if (!res.isAccessDetermined && !isFallbackSupported) res.isAccessDetermined = true;
  return res;
}
