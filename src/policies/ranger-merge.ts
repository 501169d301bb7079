import type { RangerPolicy, RangerPolicyItem } from "../engine/types.ts";

/**
 * What a Ranger plugin sends when a user runs `GRANT`/`REVOKE` in Hive, Trino, HBase...
 * (`GrantRevokeRequest`): the principals, the access types, and how to apply them.
 */
export interface GrantChange {
  users: string[];
  groups: string[];
  roles: string[];
  accessTypes: string[];
  delegateAdmin: boolean;
  /** Grant: drop the principals' earlier allow items first. Revoke: drop them entirely. */
  replaceExistingPermissions: boolean;
}

/** The four item lists of an access policy, in the order Ranger's `PolicyTermType` numbers them. */
const ALLOW = 0;
const DENY = 1;
const ALLOW_EXCEPTIONS = 2;
const DENY_EXCEPTIONS = 3;
type Term = 0 | 1 | 2 | 3;
const LIST_KEYS = ["policyItems", "denyPolicyItems", "allowExceptions", "denyExceptions"] as const;
type Kind = "users" | "groups" | "roles";
const KINDS: readonly Kind[] = ["users", "groups", "roles"];

/**
 * Ranger's `ServiceRESTUtil#processApplyPolicy`: the items of `applied` merged into `existing`,
 * per principal. For each item list of `applied`, every principal it names is split out of the
 * items it shares in `existing` (one item per list, accesses and delegated admin combined), gains
 * the applied accesses, and the opposite list loses them: an allowed access leaves the principal's
 * deny items (becoming a deny exception) and allow exceptions; a denied one leaves its allow items
 * (becoming an allow exception) and deny exceptions; an exception removes the access from the
 * list it excepts. Items with equal access sets are then regrouped. When either side carries
 * conditions the applied items are appended instead (Ranger's `combinePolicy`). Returns a new
 * policy; neither input is modified. This is `POST /api/policy/apply` and the heart of a grant.
 */
export function mergeAppliedPolicy(existing: RangerPolicy, applied: RangerPolicy): RangerPolicy {
  const out = clonePolicy(existing);
  if (hasConditions(out) || hasConditions(applied)) {
    for (const key of LIST_KEYS) {
      const items = applied[key] ?? [];
      if (items.length === 0) continue;
      const into = out[key] ?? [];
      for (const item of items) if (!into.some((i) => sameItem(i, item))) into.push(structuredClone(item));
      out[key] = into;
    }
    return out;
  }
  LIST_KEYS.forEach((key, index) => {
    const items = applied[key] ?? [];
    if (items.length === 0) return;
    const term = index as Term;
    const split = splitPrincipals(out, items);
    for (const item of items)
      for (const kind of KINDS)
        for (const name of item[kind] ?? []) {
          const terms = (split.get(principalKey(kind, name)) as SplitEntry).terms;
          addTo(terms, term, kind, name, item);
          if (term === ALLOW) {
            if (terms[DENY] !== null) {
              removeAccesses(terms[DENY], item);
              addTo(terms, DENY_EXCEPTIONS, kind, name, item);
            }
            removeAccesses(terms[ALLOW_EXCEPTIONS], item);
          } else if (term === DENY) {
            if (terms[ALLOW] !== null) {
              removeAccesses(terms[ALLOW], item);
              addTo(terms, ALLOW_EXCEPTIONS, kind, name, item);
            }
            removeAccesses(terms[DENY_EXCEPTIONS], item);
          } else if (term === ALLOW_EXCEPTIONS) removeAccesses(terms[ALLOW], item);
          else removeAccesses(terms[DENY], item);
        }
    mergeBack(out, split);
  });
  return out;
}

/**
 * A grant applied to an access policy that already covers exactly the granted resource, as
 * Ranger admin does (`ServiceRESTUtil#processGrantRequest`): with `replaceExistingPermissions`
 * the principals first leave the allow items; then one allow item of the principals and access
 * types is merged in (`mergeAppliedPolicy`). Returns a new policy.
 */
export function applyGrant(policy: RangerPolicy, change: GrantChange): RangerPolicy {
  const out = clonePolicy(policy);
  if (change.replaceExistingPermissions) removePrincipals(out, change);
  const applied: RangerPolicyItem = {
    users: [...change.users],
    groups: [...change.groups],
    roles: [...change.roles],
    accesses: change.accessTypes.map((type) => ({ type, isAllowed: true })),
    delegateAdmin: change.delegateAdmin,
  };
  return mergeAppliedPolicy(out, { policyItems: [applied] });
}

/**
 * A revoke applied to the policy covering exactly the revoked resource
 * (`ServiceRESTUtil#processRevokeRequest`): with `replaceExistingPermissions` the principals
 * leave the allow items entirely; otherwise the access types are removed from their allow items
 * and deny exceptions, and an allow item left without accesses also loses delegated admin.
 * Returns a new policy.
 */
export function applyRevoke(policy: RangerPolicy, change: GrantChange): RangerPolicy {
  const out = clonePolicy(policy);
  if (change.replaceExistingPermissions) {
    removePrincipals(out, change);
    return out;
  }
  const revoked: RangerPolicyItem = {
    users: change.users,
    groups: change.groups,
    roles: change.roles,
    accesses: change.accessTypes.map((type) => ({ type, isAllowed: false })),
  };
  const split = splitPrincipals(out, [revoked]);
  for (const { terms } of split.values()) {
    const allow = terms[ALLOW];
    if (allow !== null) {
      removeAccesses(allow, revoked);
      allow.delegateAdmin = (allow.accesses ?? []).length > 0 ? change.delegateAdmin : false;
    }
    const denyException = terms[DENY_EXCEPTIONS];
    if (denyException !== null) {
      removeAccesses(denyException, revoked);
      denyException.delegateAdmin = false;
    }
  }
  mergeBack(out, split);
  return out;
}

type Terms = [RangerPolicyItem | null, RangerPolicyItem | null, RangerPolicyItem | null, RangerPolicyItem | null];
interface SplitEntry {
  kind: Kind;
  name: string;
  terms: Terms;
}
/** The principals' own items, by `principalKey`, in first-named order. */
type Split = Map<string, SplitEntry>;
const principalKey = (kind: Kind, name: string) => `${kind}\u0000${name}`;

function clonePolicy(policy: RangerPolicy): RangerPolicy {
  return structuredClone(policy);
}

/** `removeUsersGroupsAndRolesFromPolicy`: allow items only; items left without principals go. */
function removePrincipals(policy: RangerPolicy, change: GrantChange): void {
  const drop = { users: new Set(change.users), groups: new Set(change.groups), roles: new Set(change.roles) };
  policy.policyItems = (policy.policyItems ?? []).filter((item) => {
    for (const kind of KINDS) if (item[kind]) item[kind] = (item[kind] ?? []).filter((p) => !drop[kind].has(p));
    return KINDS.some((kind) => (item[kind] ?? []).length > 0);
  });
}

function hasConditions(policy: RangerPolicy): boolean {
  if ((policy.conditions ?? []).length > 0) return true;
  return LIST_KEYS.some((key) => (policy[key] ?? []).some((item) => (item.conditions ?? []).length > 0));
}

/**
 * `splitExistingPolicyItems`: for each principal named by `applied`, one item per term holding
 * its accesses and delegated admin from every item of that term, the principal removed from them.
 */
function splitPrincipals(policy: RangerPolicy, applied: RangerPolicyItem[]): Split {
  const split: Split = new Map();
  for (const kind of KINDS) {
    const names = new Set(applied.flatMap((item) => item[kind] ?? []));
    for (const name of names) {
      const terms: Terms = [null, null, null, null];
      LIST_KEYS.forEach((key, term) => {
        for (const item of policy[key] ?? []) {
          const members = item[kind] ?? [];
          if (!members.includes(name)) continue;
          const own = termItem(terms, term as Term, kind, name);
          if (item.delegateAdmin) own.delegateAdmin = true;
          addAccesses(own, item);
          item[kind] = members.filter((m) => m !== name);
        }
      });
      split.set(principalKey(kind, name), { kind, name, terms });
    }
  }
  return split;
}

/** `addPolicyItemFor{User,Group,Role}`: the principal's item of `term` gains the applied accesses. */
function addTo(terms: Terms, term: Term, kind: Kind, name: string, applied: RangerPolicyItem): void {
  const own = termItem(terms, term, kind, name);
  addAccesses(own, applied);
  if (applied.delegateAdmin) own.delegateAdmin = true;
}

/** The principal's own item of `term`, created empty on first use. */
function termItem(terms: Terms, term: Term, kind: Kind, name: string): RangerPolicyItem {
  let own = terms[term];
  if (own === null) {
    own = { [kind]: [name], accesses: [], delegateAdmin: false };
    terms[term] = own;
  }
  return own;
}

function addAccesses(target: RangerPolicyItem, from: RangerPolicyItem): void {
  target.accesses ??= [];
  const accesses = target.accesses;
  for (const a of from.accesses ?? []) {
    const have = accesses.find((x) => x.type === a.type);
    if (have === undefined) accesses.push({ type: a.type, isAllowed: true });
    else have.isAllowed = true;
  }
}

function removeAccesses(target: RangerPolicyItem | null, from: RangerPolicyItem): void {
  if (target === null) return;
  const gone = new Set((from.accesses ?? []).map((a) => a.type));
  target.accesses = (target.accesses ?? []).filter((a) => !gone.has(a.type));
}

/** `mergeProcessedPolicyItems` then `compactPolicy`: split items go back and equal ones regroup. */
function mergeBack(policy: RangerPolicy, split: Split): void {
  for (const { terms } of split.values())
    LIST_KEYS.forEach((key, term) => {
      const item = terms[term];
      if (item) policy[key] = [...(policy[key] ?? []), item];
    });
  for (const key of LIST_KEYS) if (policy[key]) policy[key] = compact(policy[key] ?? []);
}

/**
 * `ServiceRESTUtil#mergePolicyItems`: items without principals, or without accesses and delegated
 * admin, are dropped; items with the same access set (and delegated admin) become one. Ranger
 * collects them in a HashMap, so its order is arbitrary; here it is first-seen order.
 */
function compact(items: RangerPolicyItem[]): RangerPolicyItem[] {
  const out: RangerPolicyItem[] = [];
  // Ranger's items always carry the three principal lists and a delegateAdmin flag
  for (const item of items) {
    for (const kind of KINDS) item[kind] ??= [];
    item.delegateAdmin = item.delegateAdmin === true;
  }
  const byAccesses = new Map<string, RangerPolicyItem>();
  for (const item of items) {
    if (!KINDS.some((kind) => (item[kind] ?? []).length > 0)) continue;
    if ((item.accesses ?? []).length === 0 && !item.delegateAdmin) continue;
    if ((item.conditions ?? []).length > 1) {
      out.push(item);
      continue;
    }
    const key = [...new Set((item.accesses ?? []).map((a) => a.type ?? ""))]
      .concat(item.delegateAdmin ? ["\u0000delegateAdmin"] : [])
      .sort()
      .join("\u0001");
    const same = byAccesses.get(key);
    if (same === undefined) {
      byAccesses.set(key, item);
      out.push(item);
      continue;
    }
    for (const kind of KINDS) {
      same[kind] ??= [];
      const into = same[kind];
      for (const p of item[kind] ?? []) if (!into.includes(p)) into.push(p);
    }
  }
  return out;
}

function sameItem(a: RangerPolicyItem, b: RangerPolicyItem): boolean {
  return JSON.stringify(normalised(a)) === JSON.stringify(normalised(b));
}

function normalised(item: RangerPolicyItem) {
  return {
    users: item.users ?? [],
    groups: item.groups ?? [],
    roles: item.roles ?? [],
    accesses: (item.accesses ?? []).map((a) => [a.type, a.isAllowed !== false]),
    conditions: item.conditions ?? [],
    delegateAdmin: item.delegateAdmin === true,
  };
}
