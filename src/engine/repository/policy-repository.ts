import { type CompileContext, compareEvalOrder, PolicyEvaluator } from "../policy/policy-evaluator.ts";
import type { RequestState } from "../policy/request-state.ts";
import { SetPool } from "../policy/set-pool.ts";
import type { SimpleGrant } from "../policy/simple-grants.ts";
import { isTrieCandidate } from "../policy/trie-candidate.ts";
import type { RangerAccessResource, RangerPolicy } from "../types.ts";
import { type Candidates, NO_CANDIDATES, ResourceIndex } from "./resource-index.ts";

export type { Candidates } from "./resource-index.ts";

/**
 * The compiled policies of one service (or one security zone, or the tag service), per policy
 * type, with the candidate index. Mirrors Ranger's `RangerPolicyRepository`: candidates are a
 * pre-filter and always come back in evaluation order; the evaluator does the real match.
 */
class TypeSlot {
  /** all evaluators of this type in evaluation order */
  readonly all: PolicyEvaluator[] = [];
  readonly allCands: Candidates;
  readonly index: ResourceIndex;
  constructor(index: ResourceIndex) {
    this.index = index;
    this.allCands = { evaluators: this.all, known: null };
  }
}

let seqCounter = 0;

export class PolicyRepository {
  readonly ctx: CompileContext;
  private readonly slots: TypeSlot[];
  private readonly byId = new Map<number, PolicyEvaluator>();
  /** equal principal/access sets of this repository's policies share one object */
  private readonly sets = new SetPool();

  constructor(policies: readonly RangerPolicy[], ctx: CompileContext) {
    this.ctx = ctx;
    this.slots = [0, 1, 2].map((t) => new TypeSlot(new ResourceIndex(ctx.serviceDef, t)));
    this.load(policies, 0, policies.length);
    this.finishLoad();
  }

  /**
   * Builds the repository the constructor builds, compiling and indexing `slice` policies per step
   * of the returned generator (which returns the repository), so a server building a service of
   * 100,000 policies can answer its other requests between steps: only the final sort is done in
   * one piece. The engine stays synchronous; the caller decides when the next step runs.
   */
  static *inSlices(
    policies: readonly RangerPolicy[],
    ctx: CompileContext,
    slice: number,
  ): Generator<void, PolicyRepository, void> {
    const repo = new PolicyRepository([], ctx);
    for (let from = 0; from < policies.length; from += slice) {
      yield;
      repo.load(policies, from, Math.min(policies.length, from + slice));
    }
    yield;
    repo.finishLoad();
    return repo;
  }

  /** Bulk load: compiles and files `policies[from..to)` with their lists unsorted (`finishLoad` sorts). */
  private load(policies: readonly RangerPolicy[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const p = policies[i];
      if (p.isEnabled === false) continue;
      const ev = this.compile(p);
      if (!ev) continue;
      const slot = this.slots[ev.policyType];
      slot.all.push(ev);
      slot.index.add(ev, false);
      if (ev.id !== -1) this.byId.set(ev.id, ev);
    }
  }

  private finishLoad(): void {
    for (const s of this.slots) {
      s.all.sort(compareEvalOrder);
      s.index.finalize();
    }
  }

  private compile(p: RangerPolicy): PolicyEvaluator | null {
    const type = p.policyType ?? 0;
    if (type < 0 || type > 2) return null;
    const ev = new PolicyEvaluator(p, this.ctx, this.sets);
    ev.seq = seqCounter++;
    return ev;
  }

  hasPolicies(policyType?: number): boolean {
    if (policyType === undefined)
      return this.slots[0].all.length > 0 || this.slots[1].all.length > 0 || this.slots[2].all.length > 0;
    return this.slots[policyType].all.length > 0;
  }

  policyCount(): number {
    return this.byId.size;
  }

  /** All evaluators of a type in evaluation order. */
  all(policyType: number): readonly PolicyEvaluator[] {
    return this.slots[policyType].all;
  }

  getById(id: number): PolicyEvaluator | undefined {
    return this.byId.get(id);
  }

  /** Likely-matching evaluators for the request, in evaluation order. */
  candidates(state: RequestState, policyType: number): Candidates {
    const slot = this.slots[policyType];
    if (slot.all.length === 0) return NO_CANDIDATES;
    const req = state.request;
    const scopes = req.resourceElementMatchingScopes;
    if (scopes) for (const _ in scopes) return slot.allCands;
    return slot.index.lookup(req.resource, state.descendantsCount) ?? slot.allCands;
  }

  /**
   * The access candidates for a resource as simple-grant rows (policy/simple-grants.ts): the first
   * row, null when no access policy is a candidate, undefined when the full evaluator must run.
   * The caller has already ruled out element matching scopes (they disable the index).
   */
  accessGrants(resource: RangerAccessResource): SimpleGrant | null | undefined {
    const slot = this.slots[0];
    if (slot.all.length === 0) return null;
    return slot.index.lookupGrants(resource);
  }

  /**
   * Policies Ranger's tries also hand to the evaluation loop although they cannot match the request:
   * those with a resource spec that ends above the requested resource (match type ANCESTOR), and
   * those ending above it whose values Ranger's tries return without matching (a wildcard value is
   * filed under its literal prefix: `a?` is returned for `a`; policy/trie-candidate.ts). `main`
   * (the loop's own candidates) are left out.
   * RangerResourceTrie#add files a policy that lacks a resource, but whose leaf is an ancestor of it,
   * among that resource's inherited evaluators, so every requested key's lookup returns it. They
   * never match a resource request, but the loop still applies its priority and "allowed, and this
   * policy has no deny ⇒ determined" rules to them (RangerPolicyEngineImpl
   * #evaluatePoliciesForOneAccessTypeNoAudit). Found through the index by looking up each proper
   * prefix of the requested resource (in hierarchy order); in evaluation order. Only called on the
   * rare path where those rules can fire (an allowed or tag-denied result not yet determined).
   */
  ancestorCandidates(
    state: RequestState,
    policyType: number,
    main: readonly PolicyEvaluator[] = [],
  ): PolicyEvaluator[] {
    const slot = this.slots[policyType];
    const elements = state.request.resource.elements;
    const defs = this.ctx.serviceDef.resourcesByType[policyType];
    const keys: string[] = [];
    for (const k in elements) {
      const v = elements[k];
      if (v !== undefined && v !== null && defs.has(k)) keys.push(k);
    }
    if (keys.length < 2 || slot.all.length === 0) return [];
    keys.sort((a, b) => (defs.get(a)?.level ?? 0) - (defs.get(b)?.level ?? 0));
    const seen = new Set<PolicyEvaluator>();
    const out: PolicyEvaluator[] = [];
    const resource = state.request.resource;
    const scopes = state.request.resourceElementMatchingScopes;
    for (let n = 1; n < keys.length; n++) {
      const prefix: Record<string, string | string[]> = {};
      for (let i = 0; i < n; i++) prefix[keys[i]] = elements[keys[i]] as string | string[];
      const cands = slot.index.lookup({ ...resource, elements: prefix }, false) ?? slot.allCands;
      for (const ev of cands.evaluators) {
        if (seen.has(ev)) continue;
        seen.add(ev);
        for (const m of ev.resourceMatchers) {
          if (
            m.getMatchType(resource, scopes, state.env) === "ANCESTOR" ||
            (m.keyCount < keys.length && isTrieCandidate(m, elements, defs))
          ) {
            if (!main.includes(ev)) out.push(ev);
            break;
          }
        }
      }
    }
    return out.sort(compareEvalOrder);
  }

  /**
   * Would Ranger's resource tries hand `ev` to the evaluation loop for this request? The index is a
   * superset of what they return (it keeps specs it cannot follow, such as recursive paths, as
   * candidates of every request below their node), and the loop's rules that fire on a policy
   * whether or not it matches (RangerPolicyEngineImpl#evaluatePoliciesForOneAccessTypeNoAudit: the
   * priority checks before `evaluate`, "allowed and no deny ⇒ determined" after it) must see
   * Ranger's candidates only. Otherwise a higher-priority policy without deny on another path ends
   * the loop after a tag allow, before the resource deny Ranger applies (upstream
   * test_policyengine_tag_hdfs.json, "DENY 'read /resource' for u=user-rd-ta").
   * RangerPolicyRepository#getLikelyMatchAccessPolicyEvaluators hands over every policy when the
   * request names no resource; with element matching scopes the engine keeps its whole candidate
   * list (those lookups are not modelled). Otherwise: a spec that matches in any way (the tries are
   * a pre-filter), or one the per-key lookups return without matching (policy/trie-candidate.ts).
   * Only called on the rare path where those rules can fire (an allowed or tag-denied result).
   */
  isTrieCandidate(ev: PolicyEvaluator, state: RequestState, policyType: number): boolean {
    const req = state.request;
    const scopes = req.resourceElementMatchingScopes;
    if (scopes) for (const _ in scopes) return true;
    const elements = req.resource.elements;
    const defs = this.ctx.serviceDef.resourcesByType[policyType];
    let named = false;
    for (const k in elements) {
      const v = elements[k];
      if (v !== undefined && v !== null && defs.has(k)) {
        named = true;
        break;
      }
    }
    if (!named) return true;
    for (const m of ev.resourceMatchers) {
      if (m.getMatchType(req.resource, scopes, state.env) !== "NONE") return true;
      if (isTrieCandidate(m, elements, defs)) return true;
    }
    return false;
  }

  /** Incremental update: create (0), update (1) or delete (2) one policy; O(levels) index work. */
  applyDelta(changeType: number, policy: RangerPolicy): void {
    // compiled before the old version is removed: a policy that fails to compile throws with the
    // repository as it was, not with the policy gone
    const ev = changeType === 2 || policy.isEnabled === false ? null : this.compile(policy);
    const id = policy.id;
    if (id !== undefined && id !== null) {
      const old = this.byId.get(id);
      if (old) this.removeEvaluator(old);
    }
    if (!ev) return;
    const slot = this.slots[ev.policyType];
    insertSorted(slot.all, ev);
    slot.index.add(ev, true);
    if (ev.id !== -1) this.byId.set(ev.id, ev);
  }

  private removeEvaluator(ev: PolicyEvaluator): void {
    const slot = this.slots[ev.policyType];
    removeFrom(slot.all, ev);
    slot.index.remove(ev);
    this.byId.delete(ev.id);
  }
}

function insertSorted(list: PolicyEvaluator[], ev: PolicyEvaluator): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareEvalOrder(list[mid], ev) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, ev);
}

function removeFrom(list: PolicyEvaluator[], ev: PolicyEvaluator): boolean {
  // binary search by eval order (the list is sorted), then a short scan for identity
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareEvalOrder(list[mid], ev) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < list.length; i++) {
    if (list[i] === ev) {
      list.splice(i, 1);
      return true;
    }
    if (compareEvalOrder(list[i], ev) > 0) break;
  }
  const i = list.indexOf(ev);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
