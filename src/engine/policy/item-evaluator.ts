import { allConditionsMatch, type Condition } from "../conditions/condition.ts";
import type { PreparedServiceDef } from "../model/service-def.ts";
import type { RangerPolicyItem } from "../types.ts";
import type { RequestState } from "./request-state.ts";
import type { SetPool } from "./set-pool.ts";

/**
 * A compiled policy item (allow, deny, exception, mask or row-filter item): principal sets,
 * allowed access types expanded with implied grants, and conditions. Matching is set lookups.
 */
const EMPTY: ReadonlySet<string> = new Set();
const shrink = (s: Set<string>): ReadonlySet<string> => (s.size === 0 ? EMPTY : s);

export class ItemEvaluator {
  // declaration order is memory order: the fields matching reads come first, the raw item last
  readonly hasUserToken: boolean;
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  readonly hasPublic: boolean;
  readonly hasOwner: boolean;
  /** lower-cased access types this item allows (after one-level implied-grant expansion) */
  readonly accesses: ReadonlySet<string>;
  readonly delegateAdmin: boolean;
  readonly conditions: readonly Condition[];
  readonly evalOrder: number;
  /** position in the policy's list (stable tie-break) */
  readonly index: number;
  readonly item: RangerPolicyItem;

  constructor(
    item: RangerPolicyItem,
    index: number,
    serviceDef: PreparedServiceDef,
    conditions: Condition[],
    normalizeAccess: (t: string) => string | null,
    pool?: SetPool,
  ) {
    this.item = item;
    this.index = index;
    const users = new Set<string>();
    let hasUserToken = false;
    let hasOwner = false;
    for (const u of item.users ?? []) {
      if (u === "{USER}") hasUserToken = true;
      else if (u === "{OWNER}") hasOwner = true;
      else if (u) users.add(u);
    }
    const groups = new Set<string>();
    let hasPublic = false;
    for (const g of item.groups ?? []) {
      if (g === "public") hasPublic = true;
      else if (g) groups.add(g);
    }
    const share = (s: Set<string>) => (pool ? pool.share(shrink(s)) : shrink(s));
    this.users = share(users);
    this.groups = share(groups);
    this.roles = share(new Set((item.roles ?? []).filter((r) => r)));
    this.hasPublic = hasPublic;
    this.hasUserToken = hasUserToken;
    this.hasOwner = hasOwner;
    const accesses = new Set<string>();
    for (const a of item.accesses ?? []) {
      if (a.isAllowed === false) continue;
      const t = normalizeAccess(a.type ?? "");
      if (t === null) continue;
      const lower = t.toLowerCase();
      accesses.add(lower);
      for (const g of serviceDef.impliedGrants.get(lower) ?? []) accesses.add(g);
    }
    this.accesses = share(accesses);
    this.delegateAdmin = item.delegateAdmin === true;
    this.conditions = conditions;
    const accessCount = serviceDef.accessTypeNames.length || 1;
    let order = 1000;
    if (hasPublic || hasUserToken) order -= 100;
    else order -= Math.min(100, users.size + groups.size);
    order -= Math.round((25 * (item.accesses?.length ?? 0)) / accessCount);
    order -= Math.max(0, 25 - 5 * conditions.length);
    this.evalOrder = order;
  }

  /** Principal match: `{USER}`, user, `public`, groups, roles, `{OWNER}`. */
  matchesPrincipal(state: RequestState): boolean {
    const user = state.user;
    if (this.hasUserToken && user !== undefined && user !== null) return true;
    if (user !== undefined && this.users.has(user)) return true;
    if (this.hasPublic) return true;
    if (this.groups.size > 0) {
      const gs = state.groups;
      for (let i = 0; i < gs.length; i++) if (this.groups.has(gs[i])) return true;
    }
    if (this.roles.size > 0) {
      for (const r of state.roles()) if (this.roles.has(r)) return true;
    }
    if (this.hasOwner && user !== undefined && user === state.request.resource.ownerUser) return true;
    return false;
  }

  /** Access match for one lower-cased access type (`_admin` ⇒ delegateAdmin, `_any` ⇒ any access). */
  matchesAccess(accessType: string): boolean {
    if (accessType === "_admin") return this.delegateAdmin;
    if (accessType === "_any") return this.accesses.size > 0;
    return this.accesses.has(accessType);
  }

  matchesConditions(state: RequestState): boolean {
    return this.conditions.length === 0 || allConditionsMatch(this.conditions, state);
  }

  isMatch(state: RequestState, accessType: string): boolean {
    return this.matchesPrincipal(state) && this.matchesAccess(accessType) && this.matchesConditions(state);
  }
}

/** Ranger sorts allow/deny/exception items by evalOrder (stable). */
export function sortItems(items: ItemEvaluator[]): ItemEvaluator[] {
  return items.sort((a, b) => a.evalOrder - b.evalOrder || a.index - b.index);
}
