import type { CompileContext, PolicyEvaluator } from "../policy/policy-evaluator.ts";
import { compareEvalOrder } from "../policy/policy-evaluator.ts";
import type { RequestState } from "../policy/request-state.ts";
import type { SimpleGrant } from "../policy/simple-grants.ts";
import type { RangerAccessResource, RangerPolicy } from "../types.ts";
import { type Candidates, PolicyRepository } from "./policy-repository.ts";
import { NO_CANDIDATES } from "./resource-index.ts";

/**
 * A repository that reads as `base` with some policies hidden (updated or deleted by a draft) and
 * the draft's policies added, without copying or changing `base`: the copy-on-write view a policy
 * simulation decides with (src/simulations/). Its own slots (the superclass) hold only the draft's
 * policies, so building it costs the draft's size, not the service's.
 *
 * Candidate lists are the base's lists where the draft touches nothing (the very same objects, so
 * the base's caches and the simple-grant fast path serve them), and otherwise the base's list minus
 * the hidden policies merged with the draft's in evaluation order; merged lists are cached per pair
 * of source lists, so the evaluation loop sees stable lists as it does on a live repository.
 */
export class OverlayPolicyRepository extends PolicyRepository {
  private readonly base: PolicyRepository;
  private readonly hidden: ReadonlySet<number>;
  private readonly visibleBase: number[];
  private readonly merged = new WeakMap<object, WeakMap<object, Candidates>>();

  constructor(
    base: PolicyRepository,
    draft: readonly RangerPolicy[],
    hidden: ReadonlySet<number>,
    ctx: CompileContext,
  ) {
    super(draft, ctx);
    this.base = base;
    this.hidden = hidden;
    this.visibleBase = [0, 1, 2].map((t) => {
      let n = base.all(t).length;
      for (const id of hidden) if (base.getById(id)?.policyType === t) n--;
      return n;
    });
  }

  override hasPolicies(policyType?: number): boolean {
    if (super.hasPolicies(policyType)) return true;
    if (policyType === undefined) return this.visibleBase.some((n) => n > 0);
    return this.visibleBase[policyType] > 0;
  }

  override policyCount(): number {
    return super.policyCount() + this.visibleBase.reduce((a, b) => a + b, 0);
  }

  override all(policyType: number): readonly PolicyEvaluator[] {
    return mergeLists(this.visible(this.base.all(policyType)), super.all(policyType));
  }

  override getById(id: number): PolicyEvaluator | undefined {
    const own = super.getById(id);
    if (own !== undefined) return own;
    return this.hidden.has(id) ? undefined : this.base.getById(id);
  }

  override candidates(state: RequestState, policyType: number): Candidates {
    const base = this.base.candidates(state, policyType);
    const own = super.candidates(state, policyType);
    if (own.evaluators.length === 0 && !this.touches(base.evaluators)) return base;
    let byOwn = this.merged.get(base);
    if (byOwn === undefined) {
      byOwn = new WeakMap();
      this.merged.set(base, byOwn);
    }
    let out = byOwn.get(own);
    if (out === undefined) {
      out = mergeCandidates(base, own, this.hidden);
      byOwn.set(own, out);
    }
    return out;
  }

  override accessGrants(resource: RangerAccessResource): SimpleGrant | null | undefined {
    // a draft candidate: the full evaluation decides (its answer is the fast path's, see simple-grants.ts)
    if (super.accessGrants(resource) !== null) return undefined;
    const grants = this.base.accessGrants(resource);
    if (grants === null || grants === undefined || this.hidden.size === 0) return grants;
    for (let g: SimpleGrant | null = grants; g !== null; g = g.next) if (this.hidden.has(g.policyId)) return undefined;
    return grants;
  }

  override ancestorCandidates(
    state: RequestState,
    policyType: number,
    main: readonly PolicyEvaluator[] = [],
  ): PolicyEvaluator[] {
    const base = this.visible(this.base.ancestorCandidates(state, policyType, main));
    const own = super.ancestorCandidates(state, policyType, main);
    return [...mergeLists(base, own)];
  }

  override applyDelta(): void {
    throw new Error("an overlay repository is read-only: apply the change to its base");
  }

  private touches(evs: readonly PolicyEvaluator[]): boolean {
    if (this.hidden.size === 0) return false;
    for (const ev of evs) if (this.hidden.has(ev.id)) return true;
    return false;
  }

  private visible(evs: readonly PolicyEvaluator[]): readonly PolicyEvaluator[] {
    return this.touches(evs) ? evs.filter((ev) => !this.hidden.has(ev.id)) : evs;
  }
}

function mergeCandidates(base: Candidates, own: Candidates, hidden: ReadonlySet<number>): Candidates {
  const evaluators: PolicyEvaluator[] = [];
  const known: (Candidates["known"] extends readonly (infer K)[] | null ? K : never)[] = [];
  let anyKnown = false;
  let i = 0;
  let j = 0;
  const a = base.evaluators;
  const b = own.evaluators;
  while (i < a.length || j < b.length) {
    if (i < a.length && hidden.has(a[i].id)) {
      i++;
      continue;
    }
    const takeBase = j >= b.length || (i < a.length && compareEvalOrder(a[i], b[j]) <= 0);
    const k = takeBase ? base.known?.[i] : own.known?.[j];
    evaluators.push(takeBase ? a[i++] : b[j++]);
    known.push(k);
    if (k !== undefined) anyKnown = true;
  }
  if (evaluators.length === 0) return NO_CANDIDATES;
  return { evaluators, known: anyKnown ? known : null };
}

function mergeLists(a: readonly PolicyEvaluator[], b: readonly PolicyEvaluator[]): readonly PolicyEvaluator[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: PolicyEvaluator[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && compareEvalOrder(a[i], b[j]) <= 0)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}
