import type { MatchType } from "../match/policy-resource-matcher.ts";
import { intern } from "../model/intern.ts";
import type { PreparedServiceDef } from "../model/service-def.ts";
import { compareEvalOrder, type PolicyEvaluator } from "../policy/policy-evaluator.ts";
import { buildSimpleGrants, type SimpleGrant } from "../policy/simple-grants.ts";
import type { RangerAccessResource, RangerPolicyResource, RangerPolicyResources } from "../types.ts";

/**
 * Candidate index over resource specs (Ranger §3.1, reshaped): one tree per policy type whose
 * edges are (resource name, value) steps in level order, root→leaf. A spec is filed along its
 * values: literal values are hash edges, wildcard values are prefix edges (the literal text before
 * the first `*`/`?`), match-any values are an `any` edge. Levels the tree cannot express (excludes,
 * tokens, expressions, paths, quoted values, too many value combinations) stop the walk: the spec is
 * kept in that node's `always` list, a candidate for every request that reaches the node.
 *
 * A request walks its present keys in level order; the reached nodes' lists (spec ends, specs below
 * through `any` edges, and the whole subtree for descendant requests) are merged in evaluation order.
 * The common case — one node reached by hash edges only — returns a cached list: no allocation.
 *
 * INVARIANT: the index is a pre-filter (a superset of the matching specs, in evaluation order); the
 * only match it vouches for is SELF on spec 0 of an evaluator found in the `ends` of a node reached by
 * hash edges only — the request then names exactly the spec's keys with equal (folded) values.
 */

/** What a repository returns: evaluators in evaluation order, and per evaluator a proven match. */
export interface Candidates {
  readonly evaluators: readonly PolicyEvaluator[];
  /** per evaluator: SELF when the index proved it, else undefined */
  readonly known: readonly (MatchType | undefined)[] | null;
}

const NO_EVALUATORS: readonly PolicyEvaluator[] = Object.freeze([]) as readonly PolicyEvaluator[];
const KNOWN_SELF: readonly (MatchType | undefined)[] = Object.freeze(["SELF"]) as readonly MatchType[];
export const NO_CANDIDATES: Candidates = { evaluators: NO_EVALUATORS, known: null };

/** Max merged answers kept (each is a distinct combination of nodes; the map starts over when full). */
const MAX_MERGED = 4096;

/** Max value combinations one spec may expand to before it stops at the current node. */
const MAX_COMBINATIONS = 64;

/** the shared empty `always` list: never written (nodes get their own list before the first insert) */
const NO_ENTRIES: Entry[] = [];

interface Entry {
  readonly ev: PolicyEvaluator;
  /** spec 0 of `ev` ends here via hash edges only: SELF is proven */
  known: boolean;
}

class Level {
  readonly name: string;
  exact: Map<string, Node> | null = null;
  /** wildcard edges: literal prefix → node */
  prefixes: Map<string, Node> | null = null;
  any: Node | null = null;
  constructor(name: string) {
    this.name = name;
  }
}

/** A tree node; it is also its own cached self candidate list (one hop less on the hot path). */
class Node implements Candidates {
  // declaration order is memory order: what the lookup fast path reads comes first
  /** simple-grant rows of the self list: 0 not built, 1 built (`grants`), 2 the list is not simple */
  grantsState = 0;
  grants: SimpleGrant | null = null;
  /**
   * set when the node's only edges are of one resource name and all hash edges, or a single
   * match-any edge (`*`): the lookup fast path follows them without a frontier
   */
  fastName: string | null = null;
  fastExact: Map<string, Node> | null = null;
  /** the match-any child, when that is the node's only edge */
  fastAny: Node | null = null;
  /** the only hash edge, when `fastExact` has exactly one (one catalog, one database): `===` instead of a Map lookup */
  fastKey: string | null = null;
  fastChild: Node | null = null;
  /** specs the tree cannot follow below this node (a shared empty list until it has one) */
  always: Entry[] = NO_ENTRIES;
  selfReady = false;
  /** cached self list (valid when `selfReady`): ends + always + everything below through `any` edges only */
  evaluators: readonly PolicyEvaluator[] = NO_EVALUATORS;
  known: readonly (MatchType | undefined)[] | null = null;
  /**
   * every edge from the root to here is a hash edge or a match-any (`*`) edge: a spec ending here
   * matches a request that walked here with a concrete value at each level as SELF
   */
  readonly exactPath: boolean;
  levels: Level[] | null = null;
  /** specs whose last key is this node's */
  ends: Entry[] = [];
  /** cached: everything in this subtree */
  subCands: Candidates | null = null;
  /** cached full answers for requests reaching this node by hash edges (valid while `fullGen` is current) */
  fullGen = -1;
  fullSelf: Candidates | null = null;
  fullSub: Candidates | null = null;
  /** unique within its index: names the node in the keys of the index's merged answers */
  readonly id: number;
  constructor(exactPath: boolean, id: number) {
    this.exactPath = exactPath;
    this.id = id;
  }
  refreshFast(): void {
    const ls = this.levels;
    const only = ls !== null && ls.length === 1 ? ls[0] : null;
    if (only !== null && only.prefixes === null && only.exact === null && only.any !== null) {
      this.fastName = only.name;
      this.fastExact = null;
      this.fastAny = only.any;
      this.fastKey = null;
      this.fastChild = null;
    } else if (only !== null && only.prefixes === null && only.any === null && only.exact !== null) {
      this.fastName = only.name;
      this.fastExact = only.exact;
      this.fastAny = null;
      if (only.exact.size === 1) {
        for (const [key, child] of only.exact) {
          this.fastKey = key;
          this.fastChild = child;
        }
      } else {
        this.fastKey = null;
        this.fastChild = null;
      }
    } else {
      this.fastName = null;
      this.fastExact = null;
      this.fastAny = null;
      this.fastKey = null;
      this.fastChild = null;
    }
  }
  level(name: string): Level | null {
    const ls = this.levels;
    if (ls === null) return null;
    for (let i = 0; i < ls.length; i++) if (ls[i].name === name) return ls[i];
    return null;
  }
}

type Step = { kind: 0; value: string } | { kind: 1; prefix: string } | { kind: 2 };
const ANY_STEPS: Step[] = [{ kind: 2 }];

interface LevelInfo {
  /** path/URL matchers and quoted case-sensitivity: the tree never follows such a level */
  readonly unindexable: boolean;
  readonly wildCard: boolean;
  readonly fold: boolean;
  /** custom token delimiters: values may hold tokens the tree cannot see */
  readonly tokenOptions: boolean;
}

/** A spec's plan: per level (in order) the steps to take, or `stopAt` where it must stop. */
interface Plan {
  readonly names: readonly string[];
  readonly steps: readonly (readonly Step[])[];
}

export class ResourceIndex {
  private nodeCount = 0;
  private readonly root = new Node(true, this.nodeCount++);
  private readonly sd: PreparedServiceDef;
  private readonly policyType: number;
  /** resource names of this policy type, root→leaf */
  private readonly ordered: readonly string[];
  private readonly orderedSet: ReadonlySet<string>;
  /** whether `ordered[i]` folds case (its def's ignoreCase) */
  private readonly orderedFold: readonly boolean[];
  /** valid spec key chains (hierarchy prefixes) joined by "\u0001" */
  private readonly chains: ReadonlySet<string>;
  // scratch for lookups (the engine is synchronous)
  private frontier: Node[] = [];
  private next: Node[] = [];
  /** nodes walked whose `always` specs are candidates */
  private readonly extra: Node[] = [];
  /**
   * merged answers of lookupGeneral by the nodes they were merged from (valid for `mergedGen`):
   * requests whose values reach no node of their own (a table no policy names) get the same answer
   * as every other value that walks to the same nodes, without merging again. Keys are node ids, so
   * the map is bounded by the tree's shape, not by the values requests send.
   */
  private merged = new Map<string, Candidates>();
  private mergedGen = -1;
  private epoch = 0;
  /** bumped by every change to the index: invalidates the nodes' cached full answers */
  private generation = 0;

  constructor(sd: PreparedServiceDef, policyType: number) {
    this.sd = sd;
    this.policyType = policyType;
    const defs = sd.resourcesByType[policyType];
    this.orderedSet = new Set(defs.keys());
    this.ordered = this.orderNames([...defs.keys()]);
    const fold = new Map<string, boolean>();
    for (const [name, d] of defs) fold.set(name, boolOption(d.matcherOptions, "ignoreCase", true));
    this.orderedFold = this.ordered.map((n) => fold.get(n) ?? true);
    const chains = new Set<string>();
    for (const h of sd.hierarchiesByType[policyType] ?? [])
      for (let i = 1; i <= h.length; i++)
        chains.add(
          h
            .slice(0, i)
            .map((d) => d.name)
            .join("\u0001"),
        );
    this.chains = chains;
  }

  private readonly infos = new Map<string, LevelInfo>();

  /** What the index needs from a resource def, computed once per name. */
  private levelInfo(name: string): LevelInfo {
    let info = this.infos.get(name);
    if (info === undefined) {
      const def = this.sd.resourcesByType[this.policyType].get(name);
      const opts = def?.matcherOptions;
      info = {
        unindexable:
          /PathResourceMatcher|URLResourceMatcher/.test(def?.matcher ?? "") ||
          boolOption(opts, "quotedCaseSensitive", false),
        wildCard: boolOption(opts, "wildCard", true),
        fold: boolOption(opts, "ignoreCase", true),
        tokenOptions: !!(
          opts &&
          (opts.tokenDelimiterStart || opts.tokenDelimiterEnd || opts.tokenDelimiterEscape || opts.tokenDelimiterPrefix)
        ),
      };
      this.infos.set(name, info);
    }
    return info;
  }

  private orderNames(names: string[]): string[] {
    if (names.length === this.ordered?.length) {
      // the common case, a spec naming every level: already known order
      let same = true;
      for (const n of names) if (!this.orderedSet.has(n)) same = false;
      if (same) return this.ordered.slice();
    }
    const defs = this.sd.resourcesByType[this.policyType];
    return names.sort((a, b) => {
      const la = defs.get(a)?.level ?? 0;
      const lb = defs.get(b)?.level ?? 0;
      if (la !== lb) return la - lb;
      return (this.sd.resourceOrder.get(a) ?? 0) - (this.sd.resourceOrder.get(b) ?? 0);
    });
  }

  /**
   * The edges one level of a spec takes, or null when the tree cannot follow it. Decided from the
   * raw spec and the resource def (so evaluators need not build their matchers), conservatively:
   * anything that could be a token, an expression, a quoted or path value stops the walk.
   */
  private stepsOf(name: string, res: RangerPolicyResource): Step[] | null {
    const info = this.levelInfo(name);
    if (info.unindexable) return null;
    if (res.isExcludes === true || res.isRecursive === true) return null;
    const wildCard = info.wildCard;
    const fold = info.fold;
    const values = res.values ?? [];
    let matchAny = true;
    for (const v of values) {
      if (v === null || v === undefined || v === "") continue;
      if (wildCard && v.charCodeAt(0) === 42 && /^\*+$/.test(v)) return ANY_STEPS;
      matchAny = false;
    }
    if (matchAny) return ANY_STEPS;
    if (info.tokenOptions) return null;
    if (values.length === 1) {
      const v0 = values[0];
      if (/[{}\\$]/.test(v0)) return null;
      const v = fold ? v0.toLowerCase() : v0;
      const star = wildCard ? firstWildcard(v) : -1;
      return [star < 0 ? { kind: 0, value: v } : { kind: 1, prefix: v.slice(0, star) }];
    }
    const out: Step[] = [];
    const seen = new Set<string>();
    for (const v0 of res.values ?? []) {
      if (v0 === null || v0 === undefined || v0 === "") continue;
      if (/[{}\\$]/.test(v0)) return null;
      const v = fold ? v0.toLowerCase() : v0;
      const star = wildCard ? firstWildcard(v) : -1;
      if (star < 0) {
        if (seen.has(`=${v}`)) continue;
        seen.add(`=${v}`);
        out.push({ kind: 0, value: v });
      } else {
        const prefix = v.slice(0, star);
        if (seen.has(`*${prefix}`)) continue;
        seen.add(`*${prefix}`);
        out.push({ kind: 1, prefix });
      }
    }
    return out;
  }

  /** The plan of one spec; null when the spec is not a hierarchy chain (kept at the root). */
  private planOf(resources: RangerPolicyResources): Plan | null {
    const present: string[] = [];
    for (const k in resources) if (resources[k]) present.push(k);
    if (present.length === 0) return null;
    const names = this.orderNames(present);
    if (!this.chains.has(names.join("\u0001"))) return null;
    const steps: Step[][] = [];
    let combos = 1;
    for (const n of names) {
      const s = this.stepsOf(n, resources[n]);
      if (s === null) break;
      combos *= s.length;
      if (combos > MAX_COMBINATIONS) break;
      steps.push(s);
    }
    return { names, steps };
  }

  /** Files every spec of `ev`. `sorted` keeps lists sorted on insert (deltas); bulk builds sort in finalize(). */
  add(ev: PolicyEvaluator, sorted: boolean): void {
    this.generation++;
    for (let i = 0; i < ev.specCount; i++) {
      const plan = this.planOf(ev.specResources(i));
      if (plan === null) {
        this.invalidate(this.root);
        if (this.root.always === NO_ENTRIES) this.root.always = [];
        insertEntry(this.root.always, ev, false, sorted);
        continue;
      }
      this.walkPlan(plan, 0, this.root, (node, complete) => {
        this.invalidatePath(plan, node);
        if (!complete && node.always === NO_ENTRIES) node.always = [];
        insertEntry(complete ? node.ends : node.always, ev, complete && i === 0 && node.exactPath, sorted);
        // a leaf with one policy (the common case): set its list now, next to the evaluator in memory
        if (complete && node.ends.length === 1 && node.always.length === 0 && node.levels === null) {
          const e = node.ends[0];
          node.evaluators = [e.ev];
          node.known = e.known ? KNOWN_SELF : null;
          node.selfReady = true;
          node.grantsState = 0;
        }
      });
    }
  }

  /** Removes every entry of `ev` (deltas): O(levels × combinations). */
  remove(ev: PolicyEvaluator): void {
    this.generation++;
    for (let i = 0; i < ev.specCount; i++) {
      const plan = this.planOf(ev.specResources(i));
      if (plan === null) {
        this.invalidate(this.root);
        removeEntry(this.root.always, ev);
        continue;
      }
      this.walkPlan(plan, 0, this.root, (node, complete) => {
        this.invalidatePath(plan, node);
        removeEntry(complete ? node.ends : node.always, ev);
      });
    }
  }

  /** Calls `at(node, complete)` for every node a spec ends (or stops) at, creating nodes on the way. */
  private walkPlan(plan: Plan, depth: number, node: Node, at: (node: Node, complete: boolean) => void): void {
    if (depth === plan.steps.length) {
      at(node, depth === plan.names.length);
      return;
    }
    const name = plan.names[depth];
    let level = node.level(name);
    if (level === null) {
      level = new Level(name);
      if (node.levels === null) node.levels = [level];
      else node.levels.push(level);
    }
    for (const s of plan.steps[depth]) {
      let child: Node | undefined;
      if (s.kind === 0) {
        level.exact ??= new Map();
        child = level.exact.get(s.value);
        if (!child) {
          child = new Node(node.exactPath, this.nodeCount++);
          level.exact.set(intern(s.value), child);
        }
      } else if (s.kind === 1) {
        level.prefixes ??= new Map();
        child = level.prefixes.get(s.prefix);
        if (!child) {
          child = new Node(false, this.nodeCount++);
          level.prefixes.set(s.prefix, child);
        }
      } else {
        child = level.any ??= new Node(node.exactPath, this.nodeCount++);
      }
      node.refreshFast();
      this.walkPlan(plan, depth + 1, child, at);
    }
  }

  /** Drops the cached lists of every node from the root to the nodes a plan reaches (conservatively: the root's subtree caches are dropped along every branch of the plan). */
  private invalidatePath(plan: Plan, _target: Node): void {
    const visit = (node: Node, depth: number) => {
      node.selfReady = false;
      node.grantsState = 0;
      node.subCands = null;
      if (depth === plan.steps.length) return;
      const level = node.level(plan.names[depth]);
      if (level === null) return;
      for (const s of plan.steps[depth]) {
        const child =
          s.kind === 0 ? level.exact?.get(s.value) : s.kind === 1 ? level.prefixes?.get(s.prefix) : level.any;
        if (child) visit(child, depth + 1);
      }
    };
    visit(this.root, 0);
  }

  private invalidate(node: Node): void {
    node.selfReady = false;
    node.grantsState = 0;
    node.subCands = null;
  }

  /** Sorts every list after a bulk build and drops duplicates. */
  finalize(): void {
    const visit = (node: Node) => {
      dedupSort(node.ends);
      dedupSort(node.always);
      if (node.levels)
        for (const l of node.levels) {
          if (l.exact) for (const c of l.exact.values()) visit(c);
          if (l.prefixes) for (const c of l.prefixes.values()) visit(c);
          if (l.any) visit(l.any);
        }
    };
    visit(this.root);
  }

  /**
   * Candidates for a request resource, or null when the index cannot answer (a value that is not a
   * single string): the caller then uses every policy. A request with no resource values gets null too.
   */
  lookup(resource: RangerAccessResource, withDescendants: boolean): Candidates | null {
    const elements = resource.elements;
    const ordered = this.ordered;
    let present = 0;
    for (const k in elements) {
      const v = elements[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") return null;
      present++;
    }
    if (present === 0) return null;
    // Walk the chain of hash edges. Fast path: nothing kept along the way and no other edges, so the
    // node's own list is the answer. Otherwise the answer (wildcard and any edges, kept specs) is still
    // a function of the node reached, cached on it until the next change to the index.
    const folds = this.orderedFold;
    let node = this.root;
    let used = 0;
    let fast = true;
    for (let i = 0; i < ordered.length && used < present; i++) {
      const name = ordered[i];
      const raw = elements[name] as string | undefined | null;
      if (raw === undefined || raw === null) continue;
      used++;
      if (raw === "" || raw === "*") return this.lookupGeneral(elements, present, withDescendants);
      let map: Map<string, Node> | null;
      if (node.fastName === name && node.always.length === 0) {
        // an `any` edge is followed only on an all-fast path: with other edges behind, the answer
        // depends on this level's value, so it must not be cached on the node reached
        if (node.fastAny !== null && fast) {
          node = node.fastAny;
          continue;
        }
        map = node.fastExact;
      } else {
        fast = false;
        map = node.level(name)?.exact ?? null;
      }
      // keys are folded, so a hit on the raw value means it was already folded: fold only on a miss
      let child = map === null ? undefined : map.get(raw);
      if (child === undefined && map !== null && folds[i]) {
        const lower = raw.toLowerCase();
        if (lower !== raw) child = map.get(lower);
      }
      if (child === undefined) return fast ? NO_CANDIDATES : this.lookupGeneral(elements, present, withDescendants);
      node = child;
    }
    if (used !== present) return fast ? NO_CANDIDATES : this.lookupGeneral(elements, present, withDescendants);
    if (fast) {
      if (withDescendants) return node.subCands ?? this.subOf(node);
      return node.selfReady ? node : this.selfOf(node);
    }
    if (node.fullGen === this.generation) {
      const hit = withDescendants ? node.fullSub : node.fullSelf;
      if (hit !== null) return hit;
    } else {
      node.fullGen = this.generation;
      node.fullSelf = null;
      node.fullSub = null;
    }
    const c = this.lookupGeneral(elements, present, withDescendants);
    if (withDescendants) node.fullSub = c;
    else node.fullSelf = c;
    return c;
  }

  /**
   * The simple-grant rows (policy/simple-grants.ts) of the access candidates for a resource: the
   * first row, null when there are no candidates, undefined when the full evaluator must run (the
   * index cannot answer, the answer is not a hash-edge node's own list, or a candidate is not simple).
   * Built on first use and cached on the node with its list.
   */
  lookupGrants(resource: RangerAccessResource): SimpleGrant | null | undefined {
    // lookup()'s hash-edge fast path in one pass over the request's own keys, which nearly always
    // come in hierarchy order: a for-in reads each value without a keyed lookup by name. Anything
    // else (keys out of order, unknown keys, non-string, empty or `*` values, a node with other
    // edges or kept specs) is answered by lookup() itself.
    const elements = resource.elements;
    const ordered = this.ordered;
    let node: Node | null = this.root;
    let i = 0;
    let present = 0;
    for (const k in elements) {
      const raw = elements[k];
      if (raw === undefined || raw === null) continue;
      if (typeof raw !== "string" || raw === "" || raw === "*") return this.grantsOf(this.lookup(resource, false));
      present++;
      while (i < ordered.length && ordered[i] !== k) i++;
      if (i === ordered.length) return this.grantsOf(this.lookup(resource, false));
      if (node !== null) {
        if (node.fastName !== k || node.always.length !== 0) return this.grantsOf(this.lookup(resource, false));
        // keys are folded, so a hit on the raw value means it was already folded: fold only on a miss
        const key: string | null = node.fastKey;
        let child: Node | null | undefined;
        if (node.fastAny !== null) child = node.fastAny;
        else if (key !== null) {
          child = key === raw ? node.fastChild : undefined;
          if (child === undefined && this.orderedFold[i] && key === raw.toLowerCase()) child = node.fastChild;
        } else {
          const map = node.fastExact as Map<string, Node>;
          child = map.get(raw);
          if (child === undefined && this.orderedFold[i]) {
            const lower = raw.toLowerCase();
            if (lower !== raw) child = map.get(lower);
          }
        }
        node = child ?? null;
      }
      i++;
    }
    if (present === 0) return undefined;
    // a miss on a hash edge: no candidates (lookup() answers NO_CANDIDATES there)
    if (node === null) return null;
    // built rows imply a ready list (both are dropped together): one field read on the cold leaf
    if (node.grantsState === 1) return node.grants;
    return this.grantsOf(node.selfReady ? node : this.selfOf(node));
  }

  /** The simple-grant rows of a lookup answer (see lookupGrants), cached on its node. */
  private grantsOf(c: Candidates | null): SimpleGrant | null | undefined {
    if (c === null) return undefined;
    if (c === NO_CANDIDATES) return null;
    if (!(c instanceof Node)) return undefined;
    if (c.grantsState === 1) return c.grants;
    if (c.grantsState === 2) return undefined;
    const g = buildSimpleGrants(c.evaluators, c.known);
    c.grants = g ?? null;
    c.grantsState = g === undefined ? 2 : 1;
    return g;
  }

  private lookupGeneral(
    elements: RangerAccessResource["elements"],
    present: number,
    withDescendants: boolean,
  ): Candidates {
    const ordered = this.ordered;
    const extra = this.extra;
    extra.length = 0;
    let frontier = this.frontier;
    let next = this.next;
    frontier.length = 0;
    frontier.push(this.root);
    let sawAllValues = false;
    let used = 0;
    for (let i = 0; i < ordered.length && used < present; i++) {
      const name = ordered[i];
      const raw = elements[name] as string | undefined | null;
      if (raw === undefined || raw === null) continue;
      used++;
      const allValues = raw === "" || raw === "*";
      if (allValues) sawAllValues = true;
      const v = allValues ? raw : this.orderedFold[i] ? raw.toLowerCase() : raw;
      next.length = 0;
      for (let f = 0; f < frontier.length; f++) {
        const node = frontier[f];
        if (node.always.length > 0) extra.push(node);
        // specs ending above the request (ANCESTOR) are not candidates, as with Ranger's per-key tries
        const level = node.level(name);
        if (level === null) continue;
        if (level.any !== null) next.push(level.any);
        if (allValues) continue;
        if (level.exact !== null) {
          const c = level.exact.get(v);
          if (c !== undefined) next.push(c);
        }
        if (level.prefixes !== null) for (const [p, c] of level.prefixes) if (v.startsWith(p)) next.push(c);
      }
      const t = frontier;
      frontier = next;
      next = t;
      if (frontier.length === 0) break;
    }
    this.frontier = frontier;
    this.next = next;
    if (used !== present) {
      // a request key this policy type does not have: only the specs kept at the nodes walked so far can match
      frontier.length = 0;
    }
    // a request value of "" or "*" walked only `any` edges, whose specs it does not match as SELF
    if (frontier.length === 1 && extra.length === 0) {
      const node = frontier[0];
      const c = withDescendants ? this.subOf(node) : this.selfOf(node);
      return sawAllValues ? unknown(c) : c;
    }
    if (this.mergedGen !== this.generation) {
      this.merged.clear();
      this.mergedGen = this.generation;
    }
    let key = withDescendants ? (sawAllValues ? "d*" : "d") : sawAllValues ? "s*" : "s";
    for (let i = 0; i < extra.length; i++) key += `,${extra[i].id}`;
    key += ";";
    for (let i = 0; i < frontier.length; i++) key += `,${frontier[i].id}`;
    const hit = this.merged.get(key);
    if (hit !== undefined) return hit;
    const parts: Candidates[] = [];
    for (let i = 0; i < extra.length; i++) parts.push(fromEntries(extra[i].always, false));
    for (let i = 0; i < frontier.length; i++) {
      const node = frontier[i];
      parts.push(withDescendants ? this.subOf(node) : this.selfOf(node));
    }
    const merged = this.merge(parts);
    const answer = sawAllValues ? unknown(merged) : merged;
    if (this.merged.size >= MAX_MERGED) this.merged.clear();
    this.merged.set(key, answer);
    return answer;
  }

  /** ends + always + everything reachable through `any` edges only. */
  private selfOf(node: Node): Candidates {
    if (node.selfReady) return node;
    const parts: Candidates[] = [];
    if (node.ends.length > 0) parts.push(fromEntries(node.ends, true));
    if (node.always.length > 0) parts.push(fromEntries(node.always, false));
    // a spec below an any edge matches a request that ends here as SELF_AND_ALL_DESCENDANTS, not SELF
    if (node.levels) for (const l of node.levels) if (l.any !== null) parts.push(unknown(this.selfOf(l.any)));
    const c = this.merge(parts);
    node.evaluators = c.evaluators;
    node.known = c.known;
    node.selfReady = true;
    node.grantsState = 0;
    return node;
  }

  /** Everything in the subtree of `node`. */
  private subOf(node: Node): Candidates {
    let c = node.subCands;
    if (c !== null) return c;
    const parts: Candidates[] = [];
    if (node.ends.length > 0) parts.push(fromEntries(node.ends, true));
    if (node.always.length > 0) parts.push(fromEntries(node.always, false));
    if (node.levels)
      for (const l of node.levels) {
        // below this node nothing is SELF: drop the children's own proofs
        if (l.exact) for (const ch of l.exact.values()) parts.push(unknown(this.subOf(ch)));
        if (l.prefixes) for (const ch of l.prefixes.values()) parts.push(unknown(this.subOf(ch)));
        if (l.any !== null) parts.push(unknown(this.subOf(l.any)));
      }
    c = parts.length > 64 ? this.mergeMany(parts) : this.merge(parts);
    node.subCands = c;
    return c;
  }

  /** Union of sorted candidate lists, in evaluation order, duplicates removed (known = any). */
  private merge(parts: readonly Candidates[]): Candidates {
    if (parts.length === 0) return NO_CANDIDATES;
    if (parts.length === 1) return parts[0];
    let acc = parts[0];
    for (let i = 1; i < parts.length; i++) acc = merge2(acc, parts[i]);
    return acc;
  }

  /** Union of many lists (large subtrees): concatenate, sort once, dedup. */
  private mergeMany(parts: readonly Candidates[]): Candidates {
    const epoch = ++this.epoch;
    const evs: PolicyEvaluator[] = [];
    const knownSet = new Set<PolicyEvaluator>();
    for (const p of parts) {
      const list = p.evaluators;
      for (let i = 0; i < list.length; i++) {
        const ev = list[i];
        if (p.known !== null && p.known[i] !== undefined) knownSet.add(ev);
        if (ev.indexMark === epoch) continue;
        ev.indexMark = epoch;
        evs.push(ev);
      }
    }
    evs.sort(compareEvalOrder);
    return {
      evaluators: evs,
      known: knownSet.size === 0 ? null : evs.map((e) => (knownSet.has(e) ? "SELF" : undefined)),
    };
  }
}

/** A matcher option as the element matcher reads it (absent or empty ⇒ default). */
function boolOption(options: Record<string, string | boolean> | undefined, name: string, dflt: boolean): boolean {
  const v = options?.[name];
  if (v === undefined || v === null || v === "") return dflt;
  return String(v).toLowerCase() === "true";
}

function firstWildcard(v: string): number {
  const a = v.indexOf("*");
  const b = v.indexOf("?");
  if (a < 0) return b;
  if (b < 0) return a;
  return a < b ? a : b;
}

function unknown(c: Candidates): Candidates {
  return c.known === null ? c : { evaluators: c.evaluators, known: null };
}

function fromEntries(entries: readonly Entry[], useKnown: boolean): Candidates {
  if (entries.length === 1)
    return { evaluators: [entries[0].ev], known: useKnown && entries[0].known ? KNOWN_SELF : null };
  const evaluators: PolicyEvaluator[] = new Array(entries.length);
  let known: (MatchType | undefined)[] | null = null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    evaluators[i] = e.ev;
    if (useKnown && e.known) {
      if (known === null) known = new Array(entries.length).fill(undefined);
      known[i] = "SELF";
    }
  }
  return { evaluators, known };
}

function merge2(a: Candidates, b: Candidates): Candidates {
  const ae = a.evaluators;
  const be = b.evaluators;
  if (be.length === 0) return a;
  if (ae.length === 0) return b;
  const ak = a.known;
  const bk = b.known;
  const evs: PolicyEvaluator[] = [];
  let known: (MatchType | undefined)[] | null = ak !== null || bk !== null ? [] : null;
  let i = 0;
  let j = 0;
  while (i < ae.length || j < be.length) {
    let ev: PolicyEvaluator;
    let k: MatchType | undefined;
    if (j >= be.length) {
      ev = ae[i];
      k = ak?.[i];
      i++;
    } else if (i >= ae.length) {
      ev = be[j];
      k = bk?.[j];
      j++;
    } else {
      const c = ae[i] === be[j] ? 0 : compareEvalOrder(ae[i], be[j]);
      if (c <= 0) {
        ev = ae[i];
        k = ak?.[i];
        if (c === 0) {
          k ??= bk?.[j];
          j++;
        }
        i++;
      } else {
        ev = be[j];
        k = bk?.[j];
        j++;
      }
    }
    const n = evs.length;
    if (n > 0 && evs[n - 1] === ev) {
      if (known !== null && k !== undefined) known[n - 1] = k;
      continue;
    }
    evs.push(ev);
    if (known !== null) known.push(k);
  }
  if (known !== null && !known.some((x) => x !== undefined)) known = null;
  return { evaluators: evs, known };
}

function insertEntry(list: Entry[], ev: PolicyEvaluator, known: boolean, sorted: boolean): void {
  if (!sorted) {
    list.push({ ev, known });
    return;
  }
  for (const e of list)
    if (e.ev === ev) {
      if (known) e.known = true;
      return;
    }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareEvalOrder(list[mid].ev, ev) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, { ev, known });
}

function removeEntry(list: Entry[], ev: PolicyEvaluator): void {
  for (let i = list.length - 1; i >= 0; i--) if (list[i].ev === ev) list.splice(i, 1);
}

function dedupSort(list: Entry[]): void {
  if (list.length < 2) return;
  list.sort((a, b) => compareEvalOrder(a.ev, b.ev));
  let w = 0;
  for (let r = 0; r < list.length; r++) {
    if (w > 0 && list[w - 1].ev === list[r].ev) {
      if (list[r].known) list[w - 1].known = true;
      continue;
    }
    list[w++] = list[r];
  }
  list.length = w;
}
