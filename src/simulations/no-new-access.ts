import { type DecisionInput, evaluateWith, toEngineRequest } from "../decisions/decide.ts";
import type { PolicyEngine, RangerPolicy, RangerPolicyResources } from "../engine/index.ts";
import type { SimPrincipal } from "./principals.ts";

/**
 * The "no new access" check: does the draft let any principal do anything on any resource it could
 * not do before? Decided by asking both engines over a finite set of principals and resources that
 * stands for every one the draft can affect (docs/simulation.md "No new access"):
 *
 * - resources: for each resource spec of a draft policy (its new and its old version), every
 *   combination, level by level, of a representative of each value class: each literal value of
 *   the draft's or of a base policy's spec that matches the draft's value there, and for each
 *   wildcard value one made-up value that matches it (the wildcard with `*` replaced by a fresh
 *   string); base policies whose earlier levels cannot match the chosen values are dropped as it
 *   descends. For literal, `*` and prefix (`abc*`) values this covers every class of resources
 *   exactly (two resources in one class match the same policy values at every level); plus
 *   resources known from the decision log and tagged resources;
 * - principals: the caller's list (users the draft names, members of groups and holders of roles
 *   it names, users whose memberships it changes, and one user per distinct group set when it
 *   names `public`), each with its groups before and after the draft's directory changes;
 * - the access types the changed policies name (with those they imply): an item that does not name
 *   the requested access type takes no part in its decision.
 */

/** A principal as it is now and as the draft's directory changes leave it. */
export interface PrincipalPair {
  before: SimPrincipal;
  after: SimPrincipal;
}

export interface NoNewAccessInput {
  before: PolicyEngine;
  after: PolicyEngine;
  /** the draft's policies as they would be (creations, updates) */
  draftPolicies: readonly RangerPolicy[];
  /** the current versions of the policies the draft updates or deletes */
  replacedPolicies: readonly RangerPolicy[];
  /** the service's current resource policies (their values refine the resource classes) */
  basePolicies: Iterable<RangerPolicy>;
  /** resources to check as they are (from the decision log and tagged resources) */
  extraResources: readonly Record<string, string>[];
  principals: readonly PrincipalPair[];
  /** access types to check (default: those the changed policies name, `accessTypesOf`) */
  accessTypes?: readonly string[];
  /** at most this many (principal, resource, access type) checks; more ⇒ `complete: false` */
  maxChecks?: number;
  /** at most this many counterexamples listed (all are counted) */
  maxCounterexamples?: number;
  budgetUnits?: number;
}

export interface Counterexample {
  user: string;
  groups: readonly string[];
  resource: Record<string, string>;
  accessType: string;
  /** the policy that allows it after the draft */
  policyId: number;
}

export interface NoNewAccessVerdict {
  /** true when no checked request is allowed after the draft but not before */
  noNewAccess: boolean;
  /** false when the checks were capped (`maxChecks`): a `true` verdict is then not a proof */
  complete: boolean;
  checked: number;
  principals: number;
  resources: number;
  counterexampleCount: number;
  counterexamples: Counterexample[];
}

/** A value no policy writes: the fresh part of a made-up representative. */
export const FRESH = "\u2063sim";

function isWildcard(v: string): boolean {
  return v.includes("*") || v.includes("?");
}

/** The made-up value standing for the values a wildcard matches and no literal equals. */
export function representative(pattern: string): string {
  return pattern.replace(/\*/g, FRESH).replace(/\?/g, "x");
}

const matcherCache = new Map<string, RegExp>();

/** Ranger's wildcard match (`*` any run, `?` one character), case-sensitive. */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!isWildcard(pattern)) return pattern === value;
  let re = matcherCache.get(pattern);
  if (re === undefined) {
    re = wildcardRegExp(pattern);
    if (matcherCache.size > 10_000) matcherCache.clear();
    matcherCache.set(pattern, re);
  }
  return re.test(value);
}

/** The regular expression of a Ranger wildcard (`*` any run, `?` one character). */
function wildcardRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

function specsOf(p: RangerPolicy): RangerPolicyResources[] {
  const out: RangerPolicyResources[] = [];
  if (p.resources && Object.keys(p.resources).length > 0) out.push(p.resources);
  for (const r of p.additionalResources ?? []) if (Object.keys(r).length > 0) out.push(r);
  return out;
}

/** Whether a spec's value list at a key can match `v` (an excluded list is kept: it may match). */
function specMatches(spec: RangerPolicyResources, key: string, v: string): boolean {
  const r = spec[key];
  if (r === undefined) return true;
  if (r.isExcludes) return true;
  const values = r.values ?? [];
  for (const p of values) if (wildcardMatch(p, v)) return true;
  return false;
}

/**
 * Representative resources for one draft spec (see the file comment), at most `cap` of them;
 * `ordered` is the service's resource names in hierarchy order.
 */
export function representativeResources(
  spec: RangerPolicyResources,
  base: readonly RangerPolicyResources[],
  ordered: readonly string[],
  cap: number,
): { resources: Record<string, string>[]; capped: boolean } {
  const keys = ordered.filter((k) => spec[k] !== undefined);
  for (const k of Object.keys(spec)) if (!keys.includes(k)) keys.push(k);
  const out: Record<string, string>[] = [];
  let capped = false;
  const walk = (i: number, chosen: Record<string, string>, compatible: readonly RangerPolicyResources[]) => {
    if (out.length >= cap) {
      capped = true;
      return;
    }
    if (i === keys.length) {
      out.push({ ...chosen });
      return;
    }
    const key = keys[i] as string;
    const own = spec[key]?.values ?? [];
    const excludes = spec[key]?.isExcludes === true;
    const draftMatches = (v: string) => (excludes ? true : own.some((p) => wildcardMatch(p, v)));
    const values = new Set<string>();
    for (const p of own) values.add(isWildcard(p) ? representative(p) : p);
    if (excludes) values.add(FRESH);
    for (const s of compatible) {
      for (const p of s[key]?.values ?? []) {
        const v = isWildcard(p) ? representative(p) : p;
        if (draftMatches(v)) values.add(v);
      }
    }
    for (const v of values) {
      const next = compatible.filter((s) => specMatches(s, key, v));
      chosen[key] = v;
      walk(i + 1, chosen, next);
      if (capped) return;
    }
    delete chosen[key];
  };
  walk(0, {}, base);
  return { resources: out, capped };
}

/** The draft's resource specs (new and replaced versions), its tag policies aside. */
function draftSpecs(input: NoNewAccessInput, tagType: string | undefined): RangerPolicyResources[] {
  return specsOfChanged([...input.draftPolicies, ...input.replacedPolicies], tagType);
}

function specsOfChanged(changed: readonly RangerPolicy[], tagType: string | undefined): RangerPolicyResources[] {
  const out: RangerPolicyResources[] = [];
  for (const p of changed) {
    if (tagType !== undefined && p.serviceType === tagType) continue;
    out.push(...specsOf(p));
  }
  return out;
}

/**
 * Which extra resources (logged, tagged) the verdict checks, given the changed policies (the
 * draft's and the versions they replace): those inside one of their resource specs, or all of them
 * when a tag policy changes (a tag reaches resources no spec names). A replay keeps only these of
 * the resources it reads, so a window of 1,000,000 requests does not hold 1,000,000 resources.
 */
export function verdictResourceFilter(
  changed: readonly RangerPolicy[],
  tagServiceType: string | undefined,
): (resource: Record<string, string | string[]>) => boolean {
  if (tagServiceType !== undefined && changed.some((p) => p.serviceType === tagServiceType)) return () => true;
  // asked once per replayed request: each spec is compiled once into per-key value tests
  const specs = specsOfChanged(changed, tagServiceType).map((spec) =>
    Object.keys(spec).map((key) => ({ key, ...valueTest(spec, key) })),
  );
  const guards = literalGuards(specs);
  return (resource) => {
    for (const { key, values } of guards) {
      const v = resource[key];
      if (typeof v !== "string" || !values.has(v)) return false;
    }
    next: for (const tests of specs) {
      for (const { key, matches } of tests) {
        const v = resource[key];
        if (typeof v !== "string" || !matches(v)) continue next;
      }
      // counted only for a resource that matched: most replayed requests match no spec
      let size = 0;
      for (const _ in resource) size++;
      if (size === tests.length) return true;
    }
    return false;
  };
}

/**
 * `specMatches(spec, key, v)` as a function of `v` alone, asked once per replayed request: literal
 * values in a set, a lone `*` as no test, other wildcards as regular expressions built once. With
 * `literals` when the spec's values at `key` are literals only (the test is `literals.has`).
 */
function valueTest(
  spec: RangerPolicyResources,
  key: string,
): { matches: (v: string) => boolean; literals: Set<string> | null } {
  const r = spec[key];
  const any = { matches: () => true, literals: null };
  if (r === undefined || r.isExcludes) return any;
  const literals = new Set<string>();
  const patterns: RegExp[] = [];
  for (const p of r.values ?? []) {
    if (p === "*") return any;
    if (isWildcard(p)) patterns.push(wildcardRegExp(p));
    else literals.add(p);
  }
  if (patterns.length === 0) return { matches: (v) => literals.has(v), literals };
  const matches = (v: string) => {
    if (literals.has(v)) return true;
    for (const re of patterns) if (re.test(v)) return true;
    return false;
  };
  return { matches, literals: null };
}

/**
 * The keys at which every spec lists literal values only, each with the union of those values: a
 * resource whose value there is not in the union is in no spec, decided with one lookup per key
 * (most replayed requests are in no spec; their schema, say, is not one a changed policy names).
 */
function literalGuards(
  specs: readonly { key: string; literals: Set<string> | null }[][],
): { key: string; values: Set<string> }[] {
  const first = specs[0];
  if (first === undefined) return [];
  const guards: { key: string; values: Set<string> }[] = [];
  for (const { key } of first) {
    const values = new Set<string>();
    const everywhere = specs.every((tests) => {
      const literals = tests.find((t) => t.key === key)?.literals;
      if (!literals) return false;
      for (const v of literals) values.add(v);
      return true;
    });
    if (everywhere) guards.push({ key, values });
  }
  return guards;
}

/**
 * Runs the check. Every counterexample is a real one (both engines were asked); with
 * `complete: true` and the exactness conditions of the file comment, a `noNewAccess: true` verdict
 * holds for every principal in the list on every resource.
 */
export function checkNoNewAccess(input: NoNewAccessInput, tagServiceType?: string): NoNewAccessVerdict {
  const maxChecks = input.maxChecks ?? 5_000_000;
  const maxExamples = input.maxCounterexamples ?? 100;
  const budget = input.budgetUnits ?? 1_000_000;
  const sd = input.before.serviceDef;
  const ordered = (sd.raw.resources ?? []).map((r) => r.name);
  const accessTypes =
    input.accessTypes ?? accessTypesOf([...input.draftPolicies, ...input.replacedPolicies], sd.impliedGrants);
  const specs = draftSpecs(input, tagServiceType);
  const baseSpecs: RangerPolicyResources[] = [];
  if (specs.length > 0) {
    for (const p of input.basePolicies) {
      if (p.isEnabled === false || (p.policyType ?? 0) !== 0) continue;
      for (const s of specsOf(p)) if (specs.some((d) => overlaps(d, s))) baseSpecs.push(s);
    }
  }
  const seen = new Set<string>();
  const resources: Record<string, string>[] = [];
  let complete = true;
  const add = (r: Record<string, string>) => {
    const key = JSON.stringify(Object.entries(r).sort());
    if (seen.has(key)) return;
    seen.add(key);
    resources.push(r);
  };
  const perSpecCap = Math.max(1, Math.floor(maxChecks / Math.max(1, input.principals.length * accessTypes.length)));
  for (const spec of specs) {
    const { resources: rs, capped } = representativeResources(spec, baseSpecs, ordered, perSpecCap);
    if (capped) complete = false;
    for (const r of rs) add(r);
  }
  const relevant = verdictResourceFilter([...input.draftPolicies, ...input.replacedPolicies], tagServiceType);
  for (const r of input.extraResources) if (relevant(r)) add(r);

  const verdict: NoNewAccessVerdict = {
    noNewAccess: true,
    complete,
    checked: 0,
    principals: input.principals.length,
    resources: resources.length,
    counterexampleCount: 0,
    counterexamples: [],
  };
  outer: for (const resource of resources) {
    for (const accessType of accessTypes) {
      const input0: DecisionInput = { user: "", resource, accessType };
      for (const p of input.principals) {
        if (verdict.checked >= maxChecks) {
          verdict.complete = false;
          break outer;
        }
        verdict.checked++;
        input0.user = p.after.user;
        const reqAfter = toEngineRequest(
          input0,
          p.after.groups as string[],
          p.after.roles as string[],
          undefined,
          budget,
        );
        const a = evaluateWith(input.after, input0, reqAfter);
        if (!a.isAllowed) continue;
        input0.user = p.before.user;
        const reqBefore = toEngineRequest(
          input0,
          p.before.groups as string[],
          p.before.roles as string[],
          undefined,
          budget,
        );
        const b = evaluateWith(input.before, input0, reqBefore);
        if (b.isAllowed) continue;
        verdict.noNewAccess = false;
        verdict.counterexampleCount++;
        if (verdict.counterexamples.length < maxExamples)
          verdict.counterexamples.push({
            user: p.after.user,
            groups: p.after.groups,
            resource,
            accessType,
            policyId: a.policyId,
          });
      }
    }
  }
  return verdict;
}

const ITEM_LISTS = [
  "policyItems",
  "denyPolicyItems",
  "allowExceptions",
  "denyExceptions",
  "dataMaskPolicyItems",
  "rowFilterPolicyItems",
] as const;

/**
 * The access types the changed policies' items name (a tag policy's `trino:select` as `select`),
 * with what they imply (`all`): an access type no changed item names keeps its answer, as an item
 * that does not name the requested access type takes no part in its decision.
 */
export function accessTypesOf(
  policies: readonly RangerPolicy[],
  implied: ReadonlyMap<string, readonly string[]>,
): string[] {
  const out = new Set<string>();
  for (const p of policies)
    for (const list of ITEM_LISTS)
      for (const item of p[list] ?? [])
        for (const a of item.accesses ?? []) {
          const t = String(a.type).toLowerCase();
          const name = t.includes(":") ? t.slice(t.indexOf(":") + 1) : t;
          out.add(name);
          for (const g of implied.get(name) ?? []) out.add(g.toLowerCase());
        }
  return [...out].filter((a) => !a.startsWith("_")).sort();
}

/** Whether two specs can match a common resource (each shared key's values can meet). */
function overlaps(a: RangerPolicyResources, b: RangerPolicyResources): boolean {
  for (const k of Object.keys(a)) {
    const ra = a[k];
    const rb = b[k];
    if (ra === undefined || rb === undefined || ra.isExcludes || rb.isExcludes) continue;
    const va = ra.values ?? [];
    const vb = rb.values ?? [];
    let meet = false;
    for (const x of va) {
      for (const y of vb) {
        if (
          wildcardMatch(x, isWildcard(y) ? representative(y) : y) ||
          wildcardMatch(y, isWildcard(x) ? representative(x) : x)
        ) {
          meet = true;
          break;
        }
        if (isWildcard(x) && isWildcard(y)) {
          meet = true;
          break;
        }
      }
      if (meet) break;
    }
    if (!meet) return false;
  }
  return true;
}
