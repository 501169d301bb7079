import type { MatchType } from "../match/policy-resource-matcher.ts";
import { type CompileContext, compareEvalOrder, PolicyEvaluator } from "../policy/policy-evaluator.ts";
import type { RequestState } from "../policy/request-state.ts";
import type { RangerPolicy } from "../types.ts";
import { ExactIndex } from "./exact-index.ts";

/**
 * The compiled policies of one service (or one security zone, or the tag service), per policy
 * type, with the candidate index. Mirrors Ranger's `RangerPolicyRepository`: candidates are a
 * pre-filter and always come back in evaluation order; the evaluator does the real match.
 */
export interface Candidates {
  readonly evaluators: readonly PolicyEvaluator[];
  /** per evaluator: SELF when the index proved it, else undefined */
  readonly known: readonly (MatchType | undefined)[] | null;
}

const EMPTY: Candidates = { evaluators: [], known: null };

class TypeSlot {
  /** all evaluators of this type in evaluation order */
  all: PolicyEvaluator[] = [];
  /** evaluators the exact index cannot hold, in evaluation order */
  general: PolicyEvaluator[] = [];
  readonly index: ExactIndex;
  constructor(index: ExactIndex) {
    this.index = index;
  }
}

let seqCounter = 0;

export class PolicyRepository {
  readonly ctx: CompileContext;
  private readonly slots: TypeSlot[];
  private readonly byId = new Map<number, PolicyEvaluator>();

  constructor(policies: readonly RangerPolicy[], ctx: CompileContext) {
    this.ctx = ctx;
    this.slots = [0, 1, 2].map((t) => new TypeSlot(new ExactIndex(ctx.serviceDef, t)));
    for (const p of policies) {
      if (p.isEnabled === false) continue;
      const ev = this.compile(p);
      if (!ev) continue;
      const slot = this.slots[ev.policyType];
      slot.all.push(ev);
      if (!slot.index.add(ev, false)) slot.general.push(ev);
      if (ev.id !== -1) this.byId.set(ev.id, ev);
    }
    for (const s of this.slots) {
      s.all.sort(compareEvalOrder);
      s.general.sort(compareEvalOrder);
      s.index.finalize();
    }
  }

  private compile(p: RangerPolicy): PolicyEvaluator | null {
    const type = p.policyType ?? 0;
    if (type < 0 || type > 2) return null;
    const ev = new PolicyEvaluator(p, this.ctx);
    ev.seq = seqCounter++;
    return ev;
  }

  hasPolicies(policyType?: number): boolean {
    if (policyType === undefined) return this.slots.some((s) => s.all.length > 0);
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
    if (slot.all.length === 0) return EMPTY;
    const req = state.request;
    if (req.resourceElementMatchingScopes && Object.keys(req.resourceElementMatchingScopes).length > 0) {
      return { evaluators: slot.all, known: null };
    }
    const hit = slot.index.lookup(req.resource, state.descendantsCount);
    if (hit === null) return { evaluators: slot.all, known: null };
    const self = hit.self;
    const desc = hit.desc;
    const general = slot.general;
    if (!desc && general.length === 0) {
      if (!self) return EMPTY;
      const evaluators: PolicyEvaluator[] = new Array(self.length);
      const known: (MatchType | undefined)[] = new Array(self.length);
      for (let i = 0; i < self.length; i++) {
        evaluators[i] = self[i].evaluator;
        known[i] = self[i].selfSpec0 ? "SELF" : undefined;
      }
      return { evaluators, known };
    }
    // merge the (sorted) sources; duplicates removed, order kept
    const seen = new Set<PolicyEvaluator>();
    const list: PolicyEvaluator[] = [];
    const knownSelf = new Set<PolicyEvaluator>();
    if (self)
      for (const h of self) {
        if (h.selfSpec0) knownSelf.add(h.evaluator);
        if (!seen.has(h.evaluator)) {
          seen.add(h.evaluator);
          list.push(h.evaluator);
        }
      }
    if (desc)
      for (const e of desc)
        if (!seen.has(e)) {
          seen.add(e);
          list.push(e);
        }
    for (const e of general)
      if (!seen.has(e)) {
        seen.add(e);
        list.push(e);
      }
    list.sort(compareEvalOrder);
    return { evaluators: list, known: list.map((e) => (knownSelf.has(e) ? "SELF" : undefined)) };
  }

  /** Incremental update: create (0), update (1) or delete (2) one policy. */
  applyDelta(changeType: number, policy: RangerPolicy): void {
    const id = policy.id;
    if (id !== undefined && id !== null) {
      const old = this.byId.get(id);
      if (old) this.removeEvaluator(old);
    }
    if (changeType === 2) return;
    if (policy.isEnabled === false) return;
    const ev = this.compile(policy);
    if (!ev) return;
    const slot = this.slots[ev.policyType];
    insertSorted(slot.all, ev);
    if (!slot.index.add(ev, true)) insertSorted(slot.general, ev);
    if (ev.id !== -1) this.byId.set(ev.id, ev);
  }

  private removeEvaluator(ev: PolicyEvaluator): void {
    const slot = this.slots[ev.policyType];
    removeFrom(slot.all, ev);
    if (!removeFrom(slot.general, ev)) slot.index.removeKeyed(ev);
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
  const i = list.indexOf(ev);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
