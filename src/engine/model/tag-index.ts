import { ElementMatcher } from "../match/element-matcher.ts";
import type { PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type { RangerAccessResource, ResourceElementMatchingScope } from "../types.ts";
import type { PreparedServiceDef } from "./service-def.ts";

/**
 * Candidate index over tagged service resources (the role of Ranger's `serviceResourceTrie` in
 * `RangerTagEnricher`), so that tag enrichment matches only the resources that could relate to a
 * request instead of every tagged resource (RANGER-4922: a scan over ~629k tagged resources costs
 * milliseconds per request).
 *
 * One tree whose edges are (resource name, value) steps in hierarchy order, root→leaf. A resource is
 * filed along its values: literal values are hash edges (case-folded when the resource def ignores
 * case), wildcard values and recursive paths are prefix edges (the literal text that every matching
 * request value starts with), match-any values an `any` edge. A level the tree cannot follow
 * (excludes, tokens/expressions, more than MAX_COMBINATIONS value combinations) stops the resource
 * at that node, where it is a candidate for every request reaching the node or asking for its
 * subtree. A resource whose keys are not a root-anchored hierarchy chain is a candidate for every
 * request.
 *
 * A request walks its keys in hierarchy order. Every node reached along the way contributes the
 * resources ending there (the request's ancestors: ANCESTOR) and those stopped there; the nodes
 * reached by the last key contribute themselves and everything below through `any` edges (SELF and
 * SELF_AND_ALL_DESCENDANTS): the `near` candidates. When descendants count, the rest of their
 * subtrees is the `far` part, returned by group (the caller's tag set), sorted and cached per node:
 * a far resource has a value that is not match-any at a level the request does not name, so its
 * match type can only be DESCENDANT or NONE, and the caller needs only the first DESCENDANT of each
 * group — every later one of the group adds the same tags with the same match type. This keeps
 * ancestor lookups with descendants (`_any` access on a volume or schema) at the number of tag sets
 * below, not the number of tagged resources (RANGER-4922's 10-22 ms partial-path lookups).
 *
 * INVARIANT: the index is a pre-filter — near ∪ far is a superset of the resources whose match type
 * the request counts, in ascending ordinals so callers keep their insertion order, and far
 * resources are only ever DESCENDANT or NONE. It never decides a match: the caller verifies with
 * the resource's own matcher. Requests it cannot reason about (no keys, keys that are not a
 * hierarchy chain, values that are neither strings nor string arrays) get null: the caller then
 * scans every resource.
 */

/** Max value combinations one resource may expand to before it stops at the current node. */
const MAX_COMBINATIONS = 64;

const NO_ORDINALS: readonly number[] = Object.freeze([]) as readonly number[];
/** the shared empty `stops` list of most nodes: never written (a node gets its own before the first insert) */
const NO_STOPS: number[] = [];
const NO_GROUPS: readonly (readonly number[])[] = Object.freeze([]) as readonly (readonly number[])[];

/** What a lookup returns (see the file comment). */
export interface TagCandidates {
  /** ascending ordinals to verify one by one */
  readonly near: readonly number[];
  /** per group, ascending ordinals that can only be DESCENDANT or NONE (empty unless descendants count) */
  readonly far: readonly (readonly number[])[];
}

const NO_CANDIDATES: TagCandidates = Object.freeze({ near: NO_ORDINALS, far: NO_GROUPS });

class Level {
  readonly name: string;
  exact: Map<string, Node> | null = null;
  /** prefix edges: literal prefix → node (wildcard values, recursive paths) */
  prefixes: Map<string, Node> | null = null;
  any: Node | null = null;
  /** longest prefix key, so a lookup probes at most that many lengths */
  longestPrefix = 0;
  constructor(name: string) {
    this.name = name;
  }
}

class Node {
  /** resources whose last key is this node's */
  ends: number[] = [];
  /** resources the tree cannot follow below this node */
  stops: number[] = NO_STOPS;
  /** child levels, one per resource name (usually one: a short list beats a map) */
  levels: Level[] | null = null;
  /** cached far groups of this node; dropped by every change below it */
  far: readonly (readonly number[])[] | null = null;
  level(name: string): Level | undefined {
    const ls = this.levels;
    if (ls === null) return undefined;
    for (let i = 0; i < ls.length; i++) if (ls[i].name === name) return ls[i];
    return undefined;
  }
}

type Step = { kind: "exact"; value: string } | { kind: "prefix"; prefix: string } | { kind: "any" };
const ANY_STEPS: readonly Step[] = [{ kind: "any" }];

/** Where a resource goes: its names root→leaf and the steps of the levels the tree follows. */
interface Plan {
  readonly names: readonly string[];
  /** steps per followed level; shorter than `names` when the resource stops early */
  readonly steps: readonly (readonly Step[])[];
}

/** What the index needs to know about one resource def. */
interface LevelDef {
  readonly depth: number;
  /** parent resource name; "" for a hierarchy root */
  readonly parent: string;
  readonly fold: boolean;
  readonly wildCard: boolean;
  readonly separator: string;
}

export class TagResourceIndex {
  private readonly root = new Node();
  /** resources that match any request (keys that are not a hierarchy chain) */
  private readonly everywhere: number[] = [];
  /** group of each ordinal */
  private readonly groups: number[] = [];
  private readonly defs = new Map<string, LevelDef>();
  // scratch for lookups (the engine is synchronous)
  private marks = new Uint32Array(64);
  private epoch = 0;
  /** request keys by depth, then in hierarchy order */
  private readonly keys: string[] = [];
  private readonly keyDefs: LevelDef[] = [];
  private readonly out = new List<number>();
  private frontier = new List<Node>();
  private next = new List<Node>();

  constructor(sd: PreparedServiceDef) {
    const defs = sd.resourcesByType[0];
    for (const h of sd.hierarchiesByType[0] ?? []) {
      for (let i = 0; i < h.length; i++) {
        const name = h[i].name;
        if (this.defs.has(name)) continue;
        // a probe matcher reads the options exactly as the real matchers do
        const probe = new ElementMatcher(defs.get(name) ?? h[i], undefined);
        this.defs.set(name, {
          depth: i,
          parent: i === 0 ? "" : h[i - 1].name,
          fold: probe.ignoreCase,
          wildCard: probe.wildCard,
          separator: probe.separator,
        });
      }
    }
  }

  /**
   * Files resource `ordinal` (its position in the caller's list) under the values of `matcher`.
   * `group` gathers resources the caller treats alike once one of them is a DESCENDANT (its tag set).
   */
  add(ordinal: number, matcher: PolicyResourceMatcher, group: number): void {
    this.groups[ordinal] = group;
    if (ordinal >= this.marks.length) {
      const grown = new Uint32Array(Math.max(ordinal + 1, this.marks.length * 2));
      grown.set(this.marks);
      this.marks = grown;
    }
    this.place(matcher, (list) => list.push(ordinal));
  }

  /** Removes resource `ordinal`, filed earlier with the same matcher: O(levels × combinations). */
  remove(ordinal: number, matcher: PolicyResourceMatcher): void {
    this.place(matcher, (list) => {
      const i = list.indexOf(ordinal);
      if (i >= 0) list.splice(i, 1);
    });
  }

  /** Calls `at` with every list the resource of `matcher` belongs in, creating nodes on the way. */
  private place(matcher: PolicyResourceMatcher, at: (list: number[]) => void): void {
    // a resource without keys matches only requests without keys, which scan every resource
    if (matcher.keyCount === 0) return;
    const plan = this.planOf(matcher);
    if (plan === null) {
      at(this.everywhere);
      return;
    }
    const walk = (node: Node, depth: number): void => {
      node.far = null;
      if (depth === plan.steps.length) {
        if (depth === plan.names.length) at(node.ends);
        else {
          if (node.stops === NO_STOPS) node.stops = [];
          at(node.stops);
        }
        return;
      }
      const name = plan.names[depth];
      node.levels ??= [];
      let level = node.level(name);
      if (level === undefined) {
        level = new Level(name);
        node.levels.push(level);
      }
      for (const s of plan.steps[depth]) walk(childFor(level, s), depth + 1);
    };
    walk(this.root, 0);
  }

  /** The resource's names in hierarchy order and its steps; null when the keys are not a chain. */
  private planOf(matcher: PolicyResourceMatcher): Plan | null {
    const names = [...matcher.matchers.keys()];
    if (!this.sortChain(names)) return null;
    const steps: (readonly Step[])[] = [];
    let combos = 1;
    for (const name of names) {
      const s = this.stepsOf(name, matcher.matchers.get(name) as ElementMatcher);
      if (s === null) break;
      combos *= s.length;
      if (combos > MAX_COMBINATIONS) break;
      steps.push(s);
    }
    return { names, steps };
  }

  /** The edges one level of a resource takes, or null when the tree cannot follow it. */
  private stepsOf(name: string, m: ElementMatcher): readonly Step[] | null {
    if (m.isExcludes || m.isDynamic) return null;
    if (m.isMatchAny) return ANY_STEPS;
    const def = this.defs.get(name) as LevelDef;
    const out: Step[] = [];
    const seen = new Set<string>();
    for (const raw of m.values) {
      // a quoted value under `quotedCaseSensitive` keeps its case; folding it and the request
      // anyway only adds candidates
      let v = def.fold ? raw.toLowerCase() : raw;
      let prefix: string | null = null;
      if (m.isPath && m.isRecursive) {
        // a recursive path matches itself, itself without a trailing separator, and what is below it:
        // every match starts with the value minus its trailing separator
        if (v.length > 0 && v.endsWith(def.separator)) v = v.slice(0, -1);
        prefix = v;
      }
      if (def.wildCard) {
        const w = firstWildcard(v);
        if (w >= 0) prefix = v.slice(0, w);
      }
      const key = prefix === null ? `=${v}` : `*${prefix}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(prefix === null ? { kind: "exact", value: v } : { kind: "prefix", prefix });
    }
    return out;
  }

  /** Sorts `names` into hierarchy order in place; false unless they form a root-anchored chain. */
  private sortChain(names: string[]): boolean {
    const defs = this.defs;
    for (const n of names) if (!defs.has(n)) return false;
    if (names.length > 1) names.sort((a, b) => (defs.get(a) as LevelDef).depth - (defs.get(b) as LevelDef).depth);
    for (let i = 0; i < names.length; i++) {
      const d = defs.get(names[i]) as LevelDef;
      if (d.depth !== i || d.parent !== (i === 0 ? "" : names[i - 1])) return false;
    }
    return true;
  }

  /**
   * True when no indexed resource can relate to `resource` as its self or an ancestor: the request's
   * keys, in hierarchy order, walk hash edges only, no node on the way holds resources (ancestors)
   * or kept ones, and the walk ends on a missing edge or on a node with nothing of its own and no
   * match-any edge below. False means "cannot tell cheaply", not "tagged": candidates() decides then.
   * Descendants do not count here (callers ask for a single resource), and element scopes are the
   * caller's to exclude. This is candidates() for the common untagged table, without ordering keys
   * or collecting: most resources of a tagged service carry no tag.
   */
  surelyUntagged(resource: RangerAccessResource): boolean {
    if (this.everywhere.length > 0) return false;
    const elements = resource.elements;
    let node: Node = this.root;
    for (const k in elements) {
      const raw = elements[k];
      if (raw === undefined || raw === null) continue;
      if (typeof raw !== "string" || raw === "" || raw === "*") return false;
      if (node.ends.length > 0 || node.stops.length > 0) return false;
      const level = node.level(k);
      if (level === undefined || level.prefixes !== null || level.any !== null) return false;
      const exact = level.exact;
      if (exact === null) return false;
      let child = exact.get(raw);
      if (child === undefined && this.defs.get(k)?.fold === true) {
        const lower = raw.toLowerCase();
        if (lower !== raw) child = exact.get(lower);
      }
      if (child === undefined) return true;
      node = child;
    }
    if (node === this.root || node.ends.length > 0 || node.stops.length > 0) return false;
    if (node.levels !== null) for (const level of node.levels) if (level.any !== null) return false;
    return true;
  }

  /**
   * Ordinals, ascending and unique, of the resources that could relate to `resource` as its self,
   * an ancestor, or (with `descendantsCount`, or through match-any levels) a descendant; null when
   * the index cannot tell, and every resource must be checked.
   */
  candidates(
    resource: RangerAccessResource,
    descendantsCount: boolean,
    scopes: Record<string, ResourceElementMatchingScope> | undefined,
  ): TagCandidates | null {
    const elements = resource.elements;
    const count = this.orderRequestKeys(elements);
    if (count <= 0) return null;
    const keys = this.keys;
    const keyDefs = this.keyDefs;
    const epoch = this.nextEpoch();
    const out = this.out;
    out.size = 0;
    this.collect(this.everywhere, epoch);
    let frontier = this.frontier;
    let next = this.next;
    frontier.size = 0;
    frontier.push(this.root);
    for (let i = 0; i < count && frontier.size > 0; i++) {
      const name = keys[i];
      const fold = keyDefs[i].fold;
      const value = elements[name] as string | string[];
      const scope = scopes?.[name];
      const anyScope = scope !== undefined && scope !== "SELF";
      next.size = 0;
      for (let f = 0; f < frontier.size; f++) {
        const node = frontier.items[f];
        // resources ending here lack the request's key at this level: its ancestors
        this.collect(node.ends, epoch);
        this.collect(node.stops, epoch);
        const level = node.level(name);
        if (level === undefined) continue;
        if (level.any !== null) next.push(level.any);
        // an element scope (prefix or child) widens the match beyond the value: follow every edge
        if (anyScope) pushAllEdges(level, next);
        else if (typeof value === "string") {
          // "" and "*" ask for all values: only match-any values (the `any` edge) match them
          if (value !== "" && value !== "*") pushValueEdges(level, value, fold, next);
        } else for (const v of value) if (typeof v === "string") pushValueEdges(level, v, fold, next);
      }
      const t = frontier;
      frontier = next;
      next = t;
    }
    let far = NO_GROUPS;
    for (let f = 0; f < frontier.size; f++) {
      const node = frontier.items[f];
      this.collectNear(node, epoch);
      if (!descendantsCount) continue;
      const groups = this.farOf(node);
      if (groups.length > 0) far = far.length === 0 ? groups : far.concat(groups);
    }
    this.frontier = frontier;
    this.next = next;
    // (the scratch lists keep this lookup's nodes until the next one overwrites them)
    frontier.size = 0;
    for (let i = 0; i < count; i++) keys[i] = "";
    if (out.size === 0 && far.length === 0) return NO_CANDIDATES;
    const near = out.items.slice(0, out.size);
    if (near.length > 1) near.sort(ascending);
    return { near, far };
  }

  /**
   * Puts the request's keys in hierarchy order into `keys`/`keyDefs` (no sorting: each name has one
   * depth) and returns their count; 0 without keys, -1 when they are not a root-anchored chain or a
   * value is neither a string nor a string array.
   */
  private orderRequestKeys(elements: RangerAccessResource["elements"]): number {
    const keys = this.keys;
    const keyDefs = this.keyDefs;
    let count = 0;
    let maxDepth = -1;
    let ok = true;
    for (const k in elements) {
      const v = elements[k];
      if (v === undefined || v === null) continue;
      const def = this.defs.get(k);
      if (def === undefined || (typeof v !== "string" && !Array.isArray(v))) {
        ok = false;
        break;
      }
      while (keys.length <= def.depth) {
        keys.push("");
        keyDefs.push(def);
      }
      if (keys[def.depth] !== "") {
        ok = false; // two names at one depth: not a chain
        break;
      }
      keys[def.depth] = k;
      keyDefs[def.depth] = def;
      count++;
      if (def.depth > maxDepth) maxDepth = def.depth;
    }
    ok &&= maxDepth === count - 1;
    for (let i = 0; ok && i < count; i++) ok = keyDefs[i].parent === (i === 0 ? "" : keys[i - 1]);
    if (ok) return count;
    keys.fill(""); // the slots stay clean between requests ("" is never a resource name)
    return -1;
  }

  /** The node's own resources and those below it through `any` edges only. */
  private collectNear(node: Node, epoch: number): void {
    this.collect(node.ends, epoch);
    this.collect(node.stops, epoch);
    if (node.levels === null) return;
    for (const level of node.levels) if (level.any !== null) this.collectNear(level.any, epoch);
  }

  /**
   * The rest of the node's subtree (below at least one hash or prefix edge), by group, each group's
   * ordinals ascending and unique; cached on the node until a change below it.
   */
  private farOf(node: Node): readonly (readonly number[])[] {
    if (node.far !== null) return node.far;
    const byGroup = new Map<number, number[]>();
    const all = (n: Node): void => {
      const add = (o: number) => {
        const g = this.groups[o];
        const members = byGroup.get(g);
        if (members === undefined) byGroup.set(g, [o]);
        else members.push(o);
      };
      n.ends.forEach(add);
      n.stops.forEach(add);
      if (n.levels !== null) for (const level of n.levels) forEachChild(level, all);
    };
    const below = (n: Node): void => {
      if (n.levels === null) return;
      for (const level of n.levels) {
        if (level.exact !== null) for (const child of level.exact.values()) all(child);
        if (level.prefixes !== null) for (const child of level.prefixes.values()) all(child);
        if (level.any !== null) below(level.any);
      }
    };
    below(node);
    const far: number[][] = [];
    for (const members of byGroup.values()) {
      members.sort(ascending);
      let w = 0;
      for (let r = 0; r < members.length; r++) if (w === 0 || members[w - 1] !== members[r]) members[w++] = members[r];
      members.length = w;
      far.push(members);
    }
    node.far = far;
    return far;
  }

  private collect(list: readonly number[], epoch: number): void {
    const marks = this.marks;
    const out = this.out;
    for (let i = 0; i < list.length; i++) {
      const o = list[i];
      if (marks[o] === epoch) continue;
      marks[o] = epoch;
      out.items[out.size++] = o;
    }
  }

  private nextEpoch(): number {
    if (this.epoch === 0xffffffff) {
      this.marks.fill(0);
      this.epoch = 0;
    }
    return ++this.epoch;
  }
}

function childFor(level: Level, s: Step): Node {
  if (s.kind === "any") {
    level.any ??= new Node();
    return level.any;
  }
  let map: Map<string, Node>;
  if (s.kind === "exact") {
    level.exact ??= new Map();
    map = level.exact;
  } else {
    level.prefixes ??= new Map();
    map = level.prefixes;
  }
  const key = s.kind === "exact" ? s.value : s.prefix;
  let child = map.get(key);
  if (child === undefined) {
    child = new Node();
    map.set(key, child);
    if (s.kind === "prefix" && key.length > level.longestPrefix) level.longestPrefix = key.length;
  }
  return child;
}

/**
 * Children whose values could match the request value `raw`. Exact keys are folded when the level
 * folds, so a hit on the raw value is a hit on its folded form: fold only on a miss.
 */
function pushValueEdges(level: Level, raw: string, fold: boolean, out: List<Node>): void {
  let v = raw;
  if (level.exact !== null) {
    let c = level.exact.get(raw);
    if (c === undefined && fold) {
      v = raw.toLowerCase();
      if (v !== raw) c = level.exact.get(v);
    }
    if (c !== undefined) out.push(c);
  }
  const prefixes = level.prefixes;
  if (prefixes === null) return;
  if (fold && v === raw) v = raw.toLowerCase();
  const maxLen = Math.min(v.length, level.longestPrefix);
  if (prefixes.size <= maxLen + 1) {
    for (const [p, c] of prefixes) if (v.startsWith(p)) out.push(c);
    return;
  }
  // many prefixes: probe the value's own prefixes instead of scanning the map
  for (let len = 0; len <= maxLen; len++) {
    const c = prefixes.get(v.slice(0, len));
    if (c !== undefined) out.push(c);
  }
}

function forEachChild(level: Level, fn: (child: Node) => void): void {
  if (level.exact !== null) for (const c of level.exact.values()) fn(c);
  if (level.prefixes !== null) for (const c of level.prefixes.values()) fn(c);
  if (level.any !== null) fn(level.any);
}

function pushAllEdges(level: Level, out: List<Node>): void {
  if (level.exact !== null) for (const c of level.exact.values()) out.push(c);
  if (level.prefixes !== null) for (const c of level.prefixes.values()) out.push(c);
}

/** A reusable list with its own size (truncating a JS array by `length = 0` is slow). */
class List<T> {
  items: T[] = [];
  size = 0;
  push(item: T): void {
    this.items[this.size++] = item;
  }
}

function firstWildcard(v: string): number {
  const a = v.indexOf("*");
  const b = v.indexOf("?");
  if (a < 0) return b;
  if (b < 0) return a;
  return a < b ? a : b;
}

function ascending(a: number, b: number): number {
  return a - b;
}
