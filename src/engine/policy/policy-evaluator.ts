import { allConditionsMatch, type Condition } from "../conditions/condition.ts";
import { type MatchType, PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type { PreparedServiceDef } from "../model/service-def.ts";
import type {
  RangerAccessResult,
  RangerDataMaskPolicyItem,
  RangerPolicy,
  RangerPolicyItem,
  RangerPolicyItemCondition,
  RangerPolicyResources,
  RangerRowFilterPolicyItem,
  RangerValiditySchedule,
} from "../types.ts";
import { ItemEvaluator, sortItems } from "./item-evaluator.ts";
import { type PrincipalBits, wordOf } from "./principal-bits.ts";
import { AccessTypeResults, type PartialResult, type RequestState } from "./request-state.ts";
import type { SetPool } from "./set-pool.ts";

/**
 * One compiled policy: resource matchers, conditions, sorted items and the precomputed facts the
 * engine's fast paths need (eval order, hasDeny, principal/access pre-filter). `evaluate` is
 * Ranger's `RangerDefaultPolicyEvaluator#evaluate`, line for line in behaviour.
 */

/** Services a policy needs at compile time; all pure. */
export interface CompileContext {
  readonly serviceDef: PreparedServiceDef;
  /** builds a condition from its type and values; null for unknown types (ignored, as Ranger does) */
  createCondition(cond: RangerPolicyItemCondition, isPolicyLevel: boolean): Condition | null;
  /** maps an item access type to the engine's name (strips `hive:` for tag repos); null drops it */
  normalizeAccess(type: string): string | null;
  /** compiles validity schedules into a time predicate */
  createSchedule(schedules: readonly RangerValiditySchedule[]): (time: number) => boolean;
  /** the engine's principal bits (one registry for all its repositories: requests carry one mask) */
  readonly principalBits: PrincipalBits;
}

const EMPTY_SET: ReadonlySet<string> = new Set();
const EMPTY_ITEMS: readonly ItemEvaluator[] = Object.freeze([]) as readonly ItemEvaluator[];
const EMPTY_CONDITIONS: readonly Condition[] = Object.freeze([]) as readonly Condition[];

export type ItemKind = "allow" | "deny";

export interface MatchedItem {
  readonly item: ItemEvaluator;
  readonly kind: ItemKind;
}

export class PolicyEvaluator {
  // Field order is memory order (class fields are defined in declaration order): the fields an
  // access decision reads come first, so a cold evaluator costs fewer cache lines.
  /** whether the policy has validity schedules (the engine reads the clock only then) */
  readonly hasSchedule: boolean;
  /**
   * the principal pre-filter can answer alone (no public, {USER}, {OWNER}, role or deny-all-else
   * principal): no item applies unless the request's mask shares a bit with `maskLo`/`maskHi`
   */
  readonly maskable: boolean;
  readonly maskLo: number;
  readonly maskHi: number;
  readonly priority: number;
  readonly hasDeny: boolean;
  readonly isAuditEnabled: boolean;
  /** number of resource specs (resources plus additionalResources) */
  readonly specCount: number;
  readonly conditions: readonly Condition[];
  // pre-filter (Ranger's RangerOptimizedPolicyEvaluator#hasMatchablePolicyItem)
  private readonly anyPrincipal: boolean;
  private readonly principalUsers: ReadonlySet<string>;
  private readonly principalGroups: ReadonlySet<string>;
  private readonly principalRoles: ReadonlySet<string>;
  private readonly hasOwnerItem: boolean;
  readonly isDenyAllElse: boolean;
  private readonly grantedAccesses: ReadonlySet<string>;
  private readonly hasDelegateAdmin: boolean;
  /** exactly one item (of any kind) and not deny-all-else */
  private readonly singleItem: boolean;
  readonly policyType: number;
  readonly denyItems: readonly ItemEvaluator[];
  readonly allowItems: readonly ItemEvaluator[];
  readonly allowExceptions: readonly ItemEvaluator[];
  readonly denyExceptions: readonly ItemEvaluator[];
  readonly id: number;
  readonly version: number | undefined;
  readonly zoneName: string | undefined;
  readonly policy: RangerPolicy;
  readonly name: string;
  readonly evalOrder: number;
  readonly dataMaskItems: readonly ItemEvaluator[];
  readonly rowFilterItems: readonly ItemEvaluator[];
  private readonly schedule: ((time: number) => boolean) | null;
  /** sequence number assigned by the repository (stable tie-break after name) */
  seq = 0;
  /** scratch mark for the repository's candidate merges (dedup without a Set) */
  indexMark = 0;
  private matchers: readonly PolicyResourceMatcher[] | null = null;
  private readonly sd: PreparedServiceDef;

  constructor(policy: RangerPolicy, ctx: CompileContext, pool?: SetPool) {
    const sd = ctx.serviceDef;
    this.policy = policy;
    this.id = policy.id ?? -1;
    this.name = policy.name ?? "";
    this.policyType = policy.policyType ?? 0;
    this.priority = policy.policyPriority ?? 0;
    this.version = policy.version;
    this.zoneName = policy.zoneName || undefined;
    this.isAuditEnabled = policy.isAuditEnabled !== false;
    this.isDenyAllElse = policy.isDenyAllElse === true && this.policyType === 0;
    this.sd = sd;
    this.specCount = 1 + (policy.additionalResources?.length ?? 0);
    this.conditions = compileConditions(policy.conditions, ctx, true);
    const denyOn = sd.denyAndExceptionsEnabled;
    const mk = (items: RangerPolicyItem[] | undefined, sort: boolean): readonly ItemEvaluator[] => {
      if (!items || items.length === 0) return EMPTY_ITEMS;
      const list = items.map(
        (it, i) =>
          new ItemEvaluator(
            it,
            i,
            sd,
            compileConditions(it.conditions, ctx, false),
            (t) => ctx.normalizeAccess(t),
            pool,
          ),
      );
      return sort ? sortItems(list) : list;
    };
    this.allowItems = mk(policy.policyItems, true);
    this.denyItems = denyOn ? mk(policy.denyPolicyItems, true) : EMPTY_ITEMS;
    this.allowExceptions = denyOn ? mk(policy.allowExceptions, true) : EMPTY_ITEMS;
    this.denyExceptions = denyOn ? mk(policy.denyExceptions, true) : EMPTY_ITEMS;
    this.dataMaskItems = this.policyType === 1 ? mk(policy.dataMaskPolicyItems, false) : EMPTY_ITEMS;
    this.rowFilterItems = this.policyType === 2 ? mk(policy.rowFilterPolicyItems, false) : EMPTY_ITEMS;
    this.hasDeny = this.denyItems.length > 0 || this.isDenyAllElse;
    this.schedule =
      policy.validitySchedules && policy.validitySchedules.length > 0
        ? ctx.createSchedule(policy.validitySchedules)
        : null;
    this.hasSchedule = this.schedule !== null;

    const users = new Set<string>();
    const groups = new Set<string>();
    const roles = new Set<string>();
    const granted = new Set<string>();
    // access types as listed in the items, before implied grants: Ranger's evalOrder is computed at
    // init from the raw items (RangerOptimizedPolicyEvaluator#preprocessPolicyItems); implied grants
    // are added to its accessPerms only later, for the pre-filter
    const listed = new Set<string>();
    let anyPrincipal = this.isDenyAllElse;
    let owner = false;
    let delegate = false;
    const all = [
      ...this.allowItems,
      ...this.denyItems,
      ...this.allowExceptions,
      ...this.denyExceptions,
      ...this.dataMaskItems,
      ...this.rowFilterItems,
    ];
    for (const it of all) {
      if (it.hasPublic || it.hasUserToken) anyPrincipal = true;
      if (it.hasOwner) owner = true;
      for (const u of it.users) users.add(u);
      for (const g of it.groups) groups.add(g);
      for (const r of it.roles) roles.add(r);
      for (const a of it.accesses) granted.add(a);
      for (const a of it.item.accesses ?? []) {
        if (a.isAllowed === false) continue;
        const t = ctx.normalizeAccess(a.type ?? "");
        if (t !== null) listed.add(t.toLowerCase());
      }
      if (it.delegateAdmin) delegate = true;
    }
    this.anyPrincipal = anyPrincipal;
    this.maskable = !anyPrincipal && !owner && roles.size === 0;
    let lo = 0;
    let hi = 0;
    for (const u of users) {
      const bit = ctx.principalBits.userBit(u);
      lo |= wordOf(bit, false);
      hi |= wordOf(bit, true);
    }
    for (const g of groups) {
      const bit = ctx.principalBits.groupBit(g);
      lo |= wordOf(bit, false);
      hi |= wordOf(bit, true);
    }
    this.maskLo = lo;
    this.maskHi = hi;
    // one item (the common case): share its sets instead of keeping equal copies
    const only = all.length === 1 ? all[0] : null;
    this.singleItem = only !== null && !this.isDenyAllElse;
    const share = (s: Set<string>) => (pool ? pool.share(s) : s);
    this.principalUsers = users.size === 0 ? EMPTY_SET : only ? only.users : share(users);
    this.principalGroups = groups.size === 0 ? EMPTY_SET : only ? only.groups : share(groups);
    this.principalRoles = roles.size === 0 ? EMPTY_SET : only ? only.roles : share(roles);
    this.hasOwnerItem = owner;
    this.grantedAccesses = only ? only.accesses : share(granted);
    this.hasDelegateAdmin = delegate;
    // Ranger counts `{OWNER}` among the item users; public, {USER} and deny-all-else count as "everyone"
    // (RangerOptimizedPolicyEvaluator#init sets hasPublicGroup for isDenyAllElse; computeEvalOrder)
    this.evalOrder = computeEvalOrder(this, sd, users.size + groups.size + (owner ? 1 : 0), anyPrincipal, listed);
  }

  /** The resource matchers, one per spec; built on first use (the index answers most requests without them). */
  get resourceMatchers(): readonly PolicyResourceMatcher[] {
    let m = this.matchers;
    if (m === null) {
      const p = this.policy;
      const list = [new PolicyResourceMatcher(this.sd, this.policyType, p.resources ?? {})];
      for (const r of p.additionalResources ?? []) list.push(new PolicyResourceMatcher(this.sd, this.policyType, r));
      m = list;
      this.matchers = m;
    }
    return m;
  }

  /** The raw resource spec `i` (0: resources, then additionalResources). */
  specResources(i: number): RangerPolicyResources {
    return i === 0 ? (this.policy.resources ?? {}) : (this.policy.additionalResources?.[i - 1] ?? {});
  }

  /** Validity schedule check (policies outside all schedules are skipped entirely). */
  isApplicable(time: number): boolean {
    return this.schedule === null || this.schedule(time);
  }

  /** Cheap pre-filter: can any item of this policy apply to this principal and access? */
  hasMatchablePolicyItem(state: RequestState): boolean {
    if (this.maskable) {
      if (!state.principalMaskReady) state.principalBits.fill(state);
      if ((state.principalMaskLo & this.maskLo) === 0 && (state.principalMaskHi & this.maskHi) === 0) return false;
    }
    if (!this.anyPrincipal) {
      let hit = false;
      if (state.user !== undefined && this.principalUsers.size > 0 && this.principalUsers.has(state.user)) hit = true;
      if (!hit && this.principalGroups.size > 0) {
        const gs = state.groups;
        for (let i = 0; i < gs.length; i++)
          if (this.principalGroups.has(gs[i])) {
            hit = true;
            break;
          }
      }
      if (!hit && this.principalRoles.size > 0) {
        for (const r of state.roles())
          if (this.principalRoles.has(r)) {
            hit = true;
            break;
          }
      }
      if (!hit && this.hasOwnerItem) hit = true;
      if (!hit) return false;
    }
    // Ranger's hasAllPerms is true for a deny-all-else policy, and it is checked before the
    // `_admin` case: such a policy reaches its items (and denies) for `_admin` requests too
    // (RangerOptimizedPolicyEvaluator#checkIfHasAllPerms / #hasMatchablePolicyItem)
    if (state.isAnyAccess || this.isDenyAllElse) return true;
    const at = state.accessType;
    if (at === "_admin") return this.hasDelegateAdmin;
    const types = state.requestedAccessTypes;
    for (let i = 0; i < types.length; i++) if (this.grantedAccesses.has(types[i])) return true;
    return false;
  }

  /** Whether a match type counts for this request (Ranger's scope rules; ANCESTOR only for tags). */
  static isMatchTypeAccepted(mt: MatchType, state: RequestState, isTag: boolean): boolean {
    if (mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS") return true;
    if (mt === "DESCENDANT") return state.descendantsCount;
    if (mt === "ANCESTOR") return isTag;
    return false;
  }

  /** Finds the match type of this policy for the request; the best over all resource specs. */
  matchType(state: RequestState): MatchType {
    const req = state.request;
    let best: MatchType = "NONE";
    for (const rm of this.resourceMatchers) {
      const mt = rm.getMatchType(req.resource, req.resourceElementMatchingScopes, state.env);
      if (mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS") return mt;
      if (mt !== "NONE" && best === "NONE") best = mt;
    }
    return best;
  }

  policyConditionsMatch(state: RequestState): boolean {
    return this.conditions.length === 0 || allConditionsMatch(this.conditions, state);
  }

  /**
   * Ranger's evaluate: for each resource spec that matches (and policy conditions hold), set audit
   * if undetermined, then evaluate items if access is undetermined. `tagMatchType` is given when
   * evaluating a tag policy: the tag's relation to the resource replaces the resource match type.
   * `knownMatch` lets the index vouch for a SELF match it has already proven.
   */
  evaluate(state: RequestState, res: RangerAccessResult, tagMatchType?: MatchType, knownMatch?: MatchType): void {
    const isTag = tagMatchType !== undefined;
    // -1 not computed yet; 0/1 whether some item can apply to this principal and access
    let matchable = -1;
    if (res.isAuditedDetermined || !this.isAuditEnabled) {
      // nothing left for this policy but access: Ranger checks the principal pre-filter before matching
      if (res.isAccessDetermined || !this.hasMatchablePolicyItem(state)) return;
      matchable = 1;
    }
    const n = this.specCount;
    for (let i = 0; i < n; i++) {
      if (res.isAccessDetermined && res.isAuditedDetermined) break;
      let mt: MatchType;
      if (knownMatch !== undefined && i === 0) mt = knownMatch;
      else {
        mt = this.resourceMatchers[i].getMatchType(
          state.request.resource,
          state.request.resourceElementMatchingScopes,
          state.env,
        );
        if (isTag && mt !== "NONE") mt = tagMatchType;
      }
      if (!PolicyEvaluator.isMatchTypeAccepted(mt, state, isTag)) continue;
      if (!this.policyConditionsMatch(state)) continue;
      if (!res.isAuditedDetermined && this.isAuditEnabled) {
        res.isAudited = true;
        res.isAuditedDetermined = true;
        res.auditPolicyId = this.id;
      }
      if (!res.isAccessDetermined) {
        // one item and no deny-all-else: the item's own match decides, the pre-filter would repeat it
        if (matchable < 0) matchable = this.singleItem || this.hasMatchablePolicyItem(state) ? 1 : 0;
        if (matchable === 1) this.evaluatePolicyItems(state, mt, res);
      }
    }
  }

  private evaluatePolicyItems(state: RequestState, mt: MatchType, res: RangerAccessResult): void {
    if (this.policyType === 0) {
      this.evaluateAccessItems(state, mt, res);
      return;
    }
    const items = this.policyType === 1 ? this.dataMaskItems : this.rowFilterItems;
    const at = state.accessType;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!item.isMatch(state, at)) continue;
      if (this.policyType === 1) {
        const info = (item.item as RangerDataMaskPolicyItem).dataMaskInfo ?? {};
        this.allow(res, "matched data-mask policy item");
        res.maskType = info.dataMaskType;
        res.maskCondition = resolveText(info.conditionExpr, state);
        res.maskedValue = resolveText(info.valueExpr, state);
        return;
      }
      const filter = (item.item as RangerRowFilterPolicyItem).rowFilterInfo?.filterExpr;
      const resolved = resolveText(filter, state);
      if (filter && resolved === undefined) continue;
      this.allow(res, "matched row-filter policy item");
      res.filterExpr = resolved;
      return;
    }
  }

  /**
   * A matching mask/row-filter item decides: its policy becomes the result's provenance even when a
   * tag policy allowed first (a higher-priority resource policy overrides a tag mask, as in
   * test_policyengine_tag_hive_mask.json), matching the mask/filter fields it sets.
   */
  private allow(res: RangerAccessResult, reason: string): void {
    res.isAllowed = true;
    res.policyId = this.id;
    res.policyPriority = this.priority;
    res.policyVersion = this.version;
    res.reason = reason;
    res.zoneName = this.zoneName;
  }

  /** Deny item (minus deny exceptions) first, then allow item (minus allow exceptions). */
  getMatchingItem(state: RequestState, accessType: string): MatchedItem | null {
    const deny = this.denyItems;
    for (let i = 0; i < deny.length; i++) {
      if (deny[i].isMatch(state, accessType)) {
        if (!anyMatch(this.denyExceptions, state, accessType)) return { item: deny[i], kind: "deny" };
        break;
      }
    }
    const allow = this.allowItems;
    for (let i = 0; i < allow.length; i++) {
      if (allow[i].isMatch(state, accessType)) {
        if (!anyMatch(this.allowExceptions, state, accessType)) return { item: allow[i], kind: "allow" };
        return null;
      }
    }
    return null;
  }

  /** getMatchingItem without the result object: 1 allow, 0 deny, -1 none. */
  private matchItem(state: RequestState, accessType: string): number {
    const deny = this.denyItems;
    for (let i = 0; i < deny.length; i++) {
      if (deny[i].isMatch(state, accessType)) {
        if (!anyMatch(this.denyExceptions, state, accessType)) return 0;
        break;
      }
    }
    const allow = this.allowItems;
    for (let i = 0; i < allow.length; i++) {
      if (allow[i].isMatch(state, accessType)) return anyMatch(this.allowExceptions, state, accessType) ? -1 : 1;
    }
    return -1;
  }

  /**
   * RangerDefaultPolicyEvaluator#evaluatePolicyItems. Without `ALLACCESSTYPES` in the context (one
   * access type, not `_any`) Ranger takes its else branch: the matching item updates the result
   * directly (#updateAccessResult): a deny always (`setIsAllowed(false)` also determines it), unless
   * it is a DESCENDANT match and descendant denies are ignored; an allow only when the result is
   * not allowed yet, so an allow already in the result (a tag policy's) keeps its policy and
   * priority. With `ALLACCESSTYPES`, per access type through the shared ACCESS_TYPE_RESULTS.
   */
  private evaluateAccessItems(state: RequestState, mt: MatchType, res: RangerAccessResult): void {
    if (!state.accessTypesListed) {
      this.evaluateOneAccessType(state, mt, res);
      return;
    }
    // no outcome from this policy leaves the shared map, hence the composite already in `res`, unchanged
    let map = state.accessTypeResults;
    let merged = false;
    const types = state.requestedAccessTypes;
    const ignoreDescDeny = mt === "DESCENDANT" && state.ignoreDescendantDeny;
    for (let i = 0; i < types.length; i++) {
      const a = types[i];
      const matched = this.matchItem(state, a);
      let outcome: boolean | null = null; // true allow, false deny
      let reason: string | undefined;
      if (matched >= 0) {
        outcome = matched === 1;
        reason = matched === 1 ? "matched allow item" : "matched deny item";
      } else if (this.isDenyAllElse) {
        outcome = false;
        reason = "matched deny-all-else policy";
      }
      if (outcome === false && ignoreDescDeny) outcome = null;
      if (outcome === null) continue;
      if (!map) {
        map = new AccessTypeResults();
        state.accessTypeResults = map;
      }
      merged = true;
      const one: PartialResult = {
        allowed: outcome,
        policyId: this.id,
        policyPriority: this.priority,
        policyVersion: this.version,
        reason,
        zoneName: this.zoneName,
      };
      mergeAccessTypeResult(map, a, one, true, state.isAnyAccess);
      // `_any`: one outcome settles this policy (RANGER-5001): an allow when descendant denies are
      // ignored, a deny when they are not (then the remaining types are still checked for a deny)
      if (state.isAnyAccess && (state.ignoreDescendantDeny ? outcome : !outcome)) break;
    }
    if (merged && map) applyComposite(map, state, res);
  }

  /** The else branch of RangerDefaultPolicyEvaluator#evaluatePolicyItems (see evaluateAccessItems). */
  private evaluateOneAccessType(state: RequestState, mt: MatchType, res: RangerAccessResult): void {
    const matched = this.matchItem(state, state.requestedAccessTypes[0]);
    let allowed: boolean;
    let reason: string;
    if (matched >= 0) {
      allowed = matched === 1;
      reason = allowed ? "matched allow item" : "matched deny item";
    } else if (this.isDenyAllElse) {
      allowed = false;
      reason = "matched deny-all-else policy";
    } else return;
    if (allowed) {
      if (res.isAllowed) return;
      res.isAllowed = true;
    } else {
      if (mt === "DESCENDANT" && state.ignoreDescendantDeny) return;
      res.isAllowed = false;
      res.isAccessDetermined = true;
    }
    res.policyId = this.id;
    res.policyPriority = this.priority;
    res.policyVersion = this.version;
    res.reason = reason;
  }

  /** True if some allow item (ignoring exceptions) could grant `accessType` to this principal. */
  describe(): string {
    return `policy ${this.id} (${this.name})`;
  }
}

function anyMatch(items: readonly ItemEvaluator[], state: RequestState, accessType: string): boolean {
  for (let i = 0; i < items.length; i++) if (items[i].isMatch(state, accessType)) return true;
  return false;
}

function resolveText(text: string | undefined, state: RequestState): string | undefined {
  if (text === undefined || text === null) return undefined;
  if (!text.includes("${{")) return text;
  const r = state.env.resolveExpressions(text);
  return r === null ? undefined : r;
}

/** Merges one policy's outcome for access type `a` into the per-request map (priority rules of §2.3). */
export function mergeAccessTypeResult(
  map: AccessTypeResults,
  a: string,
  one: PartialResult,
  isAccessPolicy: boolean,
  isAnyAccess: boolean,
): void {
  const old = map.get(a);
  if (!old) {
    map.set(a, one);
    return;
  }
  if (old.allowed) {
    if (!one.allowed) {
      if (one.policyPriority >= old.policyPriority) map.set(a, one);
    } else if (isAccessPolicy ? one.policyPriority > old.policyPriority : one.policyPriority >= old.policyPriority) {
      map.set(a, one);
    }
  } else if (one.allowed && one.policyPriority >= old.policyPriority && isAnyAccess) {
    map.set(a, one);
  } else if (one.policyPriority > old.policyPriority) {
    map.set(a, one);
  }
}

/** Derives the policy-level result from the per-access-type map and copies it into `res`. */
export function applyComposite(map: AccessTypeResults, state: RequestState, res: RangerAccessResult): void {
  const chosen = compositeResult(map, state);
  if (!chosen) return;
  res.isAllowed = chosen.allowed;
  res.isAccessDetermined = !chosen.allowed;
  res.policyId = chosen.policyId;
  res.policyPriority = chosen.policyPriority;
  res.policyVersion = chosen.policyVersion;
  res.reason = chosen.reason;
}

function compositeResult(map: AccessTypeResults, state: RequestState): PartialResult | null {
  // RangerDefaultPolicyEvaluator#getCompositeAccessResult: with access-type groups, the first group
  // that is denied decides; otherwise allowed once every group is allowed (by its first allow)
  const groups = state.accessTypeGroups;
  if (groups && groups.length > 0) {
    let firstAllowed: PartialResult | null = null;
    let allAllowed = true;
    for (const g of groups) {
      const e = groupResult(map, g);
      if (e === null) allAllowed = false;
      else if (!e.allowed) return e;
      else firstAllowed ??= e;
    }
    return allAllowed ? firstAllowed : null;
  }
  return groupResult(map, state.requestedAccessTypes);
}

/**
 * RangerDefaultPolicyEvaluator#deriveAccessResultFromGroup: the first allowed type's entry; the
 * first denied one when every type has an entry and none is allowed; else null.
 */
function groupResult(map: AccessTypeResults, types: readonly string[]): PartialResult | null {
  let firstDenied: PartialResult | null = null;
  let allPresent = true;
  for (let i = 0; i < types.length; i++) {
    const e = map.get(types[i]);
    if (!e) {
      allPresent = false;
      continue;
    }
    if (e.allowed) return e;
    firstDenied ??= e;
  }
  return allPresent ? firstDenied : null;
}

function compileConditions(
  conds: RangerPolicyItemCondition[] | undefined,
  ctx: CompileContext,
  isPolicyLevel: boolean,
): Condition[] {
  if (!conds || conds.length === 0) return EMPTY_CONDITIONS as Condition[];
  const out: Condition[] = [];
  for (const c of conds) {
    const cond = ctx.createCondition(c, isPolicyLevel);
    if (cond) out.push(cond);
  }
  return out.length === 0 ? (EMPTY_CONDITIONS as Condition[]) : out;
}

/** Ranger's `RangerOptimizedPolicyEvaluator#computeEvalOrder` (§3.2): broad, cheap policies first. */
function computeEvalOrder(
  ev: PolicyEvaluator,
  sd: PreparedServiceDef,
  principalCount: number,
  anyPrincipal: boolean,
  granted: ReadonlySet<string>,
): number {
  let order = 10000;
  let resourceDiscount = 0;
  let dynamic = false;
  const res = ev.policy.resources ?? {};
  for (const name of Object.keys(res)) {
    const r = res[name];
    const values = r?.values ?? [];
    let d = 0;
    if (values.length === 0 || values.some((v) => v === "*" || v === "")) d = 25;
    else {
      if (values.some((v) => v.includes("*"))) d += 10;
      else if (values.some((v) => v.includes("?"))) d += 5;
      if (r.isExcludes) d += 5;
      if (r.isRecursive) d += 5;
    }
    if (values.some((v) => v.includes("{") || v.includes("${{"))) dynamic = true;
    resourceDiscount += d;
  }
  if (dynamic) order += 20;
  order -= Math.min(100, resourceDiscount);
  order -= anyPrincipal ? 25 : Math.min(25, principalCount);
  const total = sd.accessTypeNames.length || 1;
  let listed = 0;
  for (const a of sd.accessTypeNames) if (granted.has(a.toLowerCase())) listed++;
  order -= Math.round((25 * listed) / total);
  let condCount = ev.conditions.length;
  for (const it of [...ev.allowItems, ...ev.denyItems, ...ev.allowExceptions, ...ev.denyExceptions])
    condCount += it.conditions.length;
  order -= Math.max(0, 25 - 5 * condCount);
  return order;
}

/** Ranger's EVAL_ORDER_COMPARATOR: priority desc, deny-bearing first, evalOrder asc, name. */
export function compareEvalOrder(a: PolicyEvaluator, b: PolicyEvaluator): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.hasDeny !== b.hasDeny) return a.hasDeny ? -1 : 1;
  if (a.evalOrder !== b.evalOrder) return a.evalOrder - b.evalOrder;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.seq - b.seq;
}
