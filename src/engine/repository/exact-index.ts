import type { PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type { PreparedServiceDef } from "../model/service-def.ts";
import { compareEvalOrder, type PolicyEvaluator } from "../policy/policy-evaluator.ts";
import type { RangerAccessResource } from "../types.ts";

/**
 * Hash index for the common case: resource specs whose every value is a plain literal (no
 * wildcard, token, expression, exclude, recursion or quoting). Such a spec matches a request
 * exactly when the request names the same resource keys with equal (case-folded) values, so a
 * single `Map` lookup on the joined key replaces Ranger's per-key trie walk and intersection.
 * Each spec is also filed under every ancestor prefix, so `_any`/descendant requests find it.
 *
 * INVARIANT: an evaluator found under SELF for spec 0 matches the request with match type SELF;
 * everything else found here is only a candidate and is fully re-matched.
 */

/** Max value combinations one spec may expand to before it is treated as general. */
const MAX_COMBINATIONS = 64;
const SEP = "\u0001";

export interface ExactHit {
  readonly evaluator: PolicyEvaluator;
  /** true when spec 0 matched by full key: SELF is proven */
  readonly selfSpec0: boolean;
}

interface IndexedSpec {
  readonly names: readonly string[];
  readonly foldCase: readonly boolean[];
}

export class ExactIndex {
  private readonly self = new Map<string, ExactHit[]>();
  private readonly descendants = new Map<string, PolicyEvaluator[]>();
  private readonly sd: PreparedServiceDef;
  private readonly policyType: number;

  /** resource names of this policy type, root→leaf, with their case folding (precomputed for lookups) */
  private readonly ordered: readonly { name: string; fold: boolean }[];

  constructor(sd: PreparedServiceDef, policyType: number) {
    this.sd = sd;
    this.policyType = policyType;
    const defs = sd.resourcesByType[policyType];
    this.ordered = this.orderNames([...defs.keys()]).map((name) => ({
      name,
      fold: String(defs.get(name)?.matcherOptions?.ignoreCase ?? "true").toLowerCase() !== "false",
    }));
  }

  /** Orders resource names root→leaf (level, then service-def order). */
  private orderNames(names: string[]): string[] {
    const defs = this.sd.resourcesByType[this.policyType];
    return names.sort((a, b) => {
      const la = defs.get(a)?.level ?? 0;
      const lb = defs.get(b)?.level ?? 0;
      if (la !== lb) return la - lb;
      return (this.sd.resourceOrder.get(a) ?? 0) - (this.sd.resourceOrder.get(b) ?? 0);
    });
  }

  /** The literal spec plan of a matcher, or null when the spec needs general matching. */
  private planOf(rm: PolicyResourceMatcher): IndexedSpec | null {
    if (rm.keyCount === 0 || rm.isDynamic) return null;
    const defs = this.sd.resourcesByType[this.policyType];
    const names = this.orderNames([...rm.matchers.keys()]);
    const fold: boolean[] = [];
    let combos = 1;
    for (const n of names) {
      const m = rm.matchers.get(n)!;
      if (m.isMatchAny || m.isExcludes || m.isRecursive || m.isPath) return null;
      const opts = defs.get(n)?.matcherOptions;
      const quoted = String(opts?.quotedCaseSensitive ?? "false").toLowerCase() === "true";
      for (const v of m.values) {
        if (m.wildCard && (v.includes("*") || v.includes("?"))) return null;
        if (quoted) return null;
        if (v.includes(m.tokenSyntax.start) || v.includes("${{")) return null;
      }
      combos *= m.values.length;
      if (combos > MAX_COMBINATIONS) return null;
      fold.push(m.ignoreCase);
    }
    return { names, foldCase: fold };
  }

  /** Adds an evaluator; returns false when no spec of it could be indexed (caller keeps it general). */
  add(ev: PolicyEvaluator, sorted = true): boolean {
    const plans = ev.resourceMatchers.map((rm) => this.planOf(rm));
    if (plans.some((p) => p === null)) return false;
    plans.forEach((plan, i) => {
      const rm = ev.resourceMatchers[i];
      for (const combo of expand(plan!, rm)) {
        const key = combo.join(SEP);
        insertSorted(this.self, key, { evaluator: ev, selfSpec0: i === 0 }, (h) => h.evaluator, sorted);
        for (let k = 1; k < combo.length; k++) {
          insertSorted(this.descendants, combo.slice(0, k).join(SEP), ev, (e) => e, sorted);
        }
      }
    });
    return true;
  }

  /** Sorts every bucket after a bulk build (Ranger's EVAL_ORDER_COMPARATOR) and drops duplicates. */
  finalize(): void {
    for (const list of this.self.values()) if (list.length > 1) dedupSort(list, (h) => h.evaluator);
    for (const list of this.descendants.values()) if (list.length > 1) dedupSort(list, (e) => e);
  }

  remove(ev: PolicyEvaluator): void {
    for (const [k, list] of this.self) {
      const next = list.filter((h) => h.evaluator !== ev);
      if (next.length !== list.length) {
        if (next.length === 0) this.self.delete(k);
        else this.self.set(k, next);
      }
    }
    for (const [k, list] of this.descendants) {
      const next = list.filter((e) => e !== ev);
      if (next.length !== list.length) {
        if (next.length === 0) this.descendants.delete(k);
        else this.descendants.set(k, next);
      }
    }
  }

  /** Removes using the evaluator's own keys (fast path for deltas). */
  removeKeyed(ev: PolicyEvaluator): void {
    ev.resourceMatchers.forEach((rm) => {
      const plan = this.planOf(rm);
      if (!plan) return;
      for (const combo of expand(plan, rm)) {
        dropFrom(this.self, combo.join(SEP), (h) => h.evaluator === ev);
        for (let k = 1; k < combo.length; k++) dropFrom(this.descendants, combo.slice(0, k).join(SEP), (e) => e === ev);
      }
    });
  }

  /**
   * Candidates for a request resource whose values are all single strings. Returns the SELF hits
   * and, when `withDescendants`, the evaluators whose specs lie below the request.
   */
  lookup(
    resource: RangerAccessResource,
    withDescendants: boolean,
  ): { self: ExactHit[] | undefined; desc: PolicyEvaluator[] | undefined } | null {
    const elements = resource.elements;
    let present = 0;
    for (const k in elements) {
      const v = elements[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") return null;
      present++;
    }
    if (present === 0) return NO_HITS;
    let key = "";
    let used = 0;
    const ordered = this.ordered;
    for (let i = 0; i < ordered.length; i++) {
      const o = ordered[i];
      const v = elements[o.name] as string | undefined | null;
      if (v === undefined || v === null) continue;
      if (v === "" || v === "*") return NO_HITS;
      const part = o.name + "=" + (o.fold ? v.toLowerCase() : v);
      key = used === 0 ? part : key + SEP + part;
      used++;
    }
    if (used !== present) return NO_HITS; // a key outside this policy type's resources
    return { self: this.self.get(key), desc: withDescendants ? this.descendants.get(key) : undefined };
  }
}

const NO_HITS = { self: undefined, desc: undefined };

function* expand(plan: IndexedSpec, rm: PolicyResourceMatcher): Generator<string[]> {
  const lists = plan.names.map((n, i) => {
    const m = rm.matchers.get(n)!;
    return [...new Set(m.values.map((v) => n + "=" + (plan.foldCase[i] ? v.toLowerCase() : v)))];
  });
  const out: string[] = [];
  function* rec(i: number): Generator<string[]> {
    if (i === lists.length) {
      yield [...out];
      return;
    }
    for (const v of lists[i]) {
      out.push(v);
      yield* rec(i + 1);
      out.pop();
    }
  }
  yield* rec(0);
}

function insertSorted<T>(
  map: Map<string, T[]>,
  key: string,
  item: T,
  evOf: (t: T) => PolicyEvaluator,
  sorted: boolean,
): void {
  const list = map.get(key);
  if (!list) {
    map.set(key, [item]);
    return;
  }
  const ev = evOf(item);
  if (!sorted) {
    // bulk build: duplicates (same policy, two value combos with one key) are removed in finalize()
    list.push(item);
    return;
  }
  for (const existing of list) if (evOf(existing) === ev) return;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareEvalOrder(evOf(list[mid]), ev) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

function dropFrom<T>(map: Map<string, T[]>, key: string, pred: (t: T) => boolean): void {
  const list = map.get(key);
  if (!list) return;
  const next = list.filter((t) => !pred(t));
  if (next.length === 0) map.delete(key);
  else map.set(key, next);
}

function dedupSort<T>(list: T[], evOf: (t: T) => PolicyEvaluator): void {
  list.sort((a, b) => compareEvalOrder(evOf(a), evOf(b)));
  let w = 0;
  for (let r = 0; r < list.length; r++) {
    if (w > 0 && evOf(list[w - 1]) === evOf(list[r])) continue;
    list[w++] = list[r];
  }
  list.length = w;
}
