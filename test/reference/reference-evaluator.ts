/**
 * A deliberately naive second implementation of Ranger's decision algorithm, written straight from
 * ../shared/docs/ranger-semantics.md §2 (and §3.2 for the evaluation order, which decides policyId
 * when several policies could decide). It exists only to check the optimised engine in src/engine/:
 * no tries, no indexes, no caches, no pre-filters. Every request loops over every policy in Ranger's
 * documented order and applies the rules literally, so a reader can check each line against the doc.
 *
 * Scope (what the property test generates): access policies with allow/deny items and exceptions,
 * override priority, deny-all-else, implied grants (one level), `_any` (with descendant-deny
 * ignoring), `_admin`, super users/groups, roles (nested), `{USER}`/`{OWNER}`/`public`,
 * resource matching with wildcards, excludes, recursive paths, ignore-case, multiple hierarchies and
 * additional resources, masks and row filters (first match), audit determination without filters.
 * Not covered: tags, zones, conditions, validity schedules, expressions, audit filters.
 */
import type {
  EngineInput,
  RangerAccessRequest,
  RangerPolicy,
  RangerPolicyItem,
  RangerPolicyResource,
  RangerPolicyResources,
  RangerResourceDef,
  RangerServiceDef,
} from "../../src/engine/types.ts";

/** The result fields the reference computes (a subset of Ranger's `RangerAccessResult`). */
export interface ReferenceResult {
  isAllowed: boolean;
  isAccessDetermined: boolean;
  isAudited: boolean;
  auditPolicyId: number;
  policyId: number;
  policyPriority: number;
  maskType?: string;
  maskCondition?: string;
  maskedValue?: string;
  filterExpr?: string;
  /**
   * For `_any` requests: every policy whose per-access-type entry was allowed when the result was
   * set. §2.3 picks "the first requested access type whose entry is allowed", but Ranger's requested
   * types come from a Java HashSet (ALLACCESSTYPES), whose order the semantics do not fix; when
   * several entries are allowed, any of these policy ids is a faithful answer.
   */
  acceptablePolicyIds?: number[];
}

type MatchType = "NONE" | "SELF" | "DESCENDANT" | "ANCESTOR" | "SELF_AND_ALL_DESCENDANTS";

const PATH_MATCHER = "org.apache.ranger.plugin.resourcematcher.RangerPathResourceMatcher";
const INT_MAX = 2147483647;

// ------------------------------------------------------------------ small helpers

function boolOption(def: RangerResourceDef, name: string, dflt: boolean): boolean {
  const v = def.matcherOptions?.[name];
  if (v === undefined || v === null) return dflt;
  return v === true || String(v).toLowerCase() === "true";
}

/** commons-io `FilenameUtils.wildcardMatch`: `*` any sequence (crossing `/`), `?` one char, no escapes. */
export function wildcardMatch(text: string, pattern: string, ignoreCase: boolean): boolean {
  const t = ignoreCase ? text.toLowerCase() : text;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  // plain recursive matcher with memo; inputs are short
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * 1000 + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (j === p.length) r = i === t.length;
    else if (p[j] === "*") r = go(i, j + 1) || (i < t.length && go(i + 1, j));
    else if (i < t.length && (p[j] === "?" || p[j] === t[i])) r = go(i + 1, j + 1);
    else r = false;
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

function strEquals(a: string, b: string, ignoreCase: boolean): boolean {
  return ignoreCase ? a.toLowerCase() === b.toLowerCase() : a === b;
}

// ------------------------------------------------------------------ service-def views

/** Resource defs for a policy type: access uses `resources`, masks/row filters their own (merged over the base). */
function resourceDefsFor(sd: RangerServiceDef, policyType: number): RangerResourceDef[] {
  const base = sd.resources ?? [];
  const own = policyType === 1 ? sd.dataMaskDef?.resources : policyType === 2 ? sd.rowFilterDef?.resources : undefined;
  if (policyType === 0) return base;
  return (own ?? []).map((d) => {
    const b = base.find((x) => x.name === d.name);
    if (!b) return d;
    return { ...b, ...d, matcherOptions: { ...(b.matcherOptions ?? {}), ...(d.matcherOptions ?? {}) } };
  });
}

/** Every root→leaf path of the resource forest (`parent` links), as lists of resource defs. */
function hierarchies(defs: RangerResourceDef[]): RangerResourceDef[][] {
  const out: RangerResourceDef[][] = [];
  const walk = (path: RangerResourceDef[]) => {
    const last = path[path.length - 1];
    const children = defs.filter((d) => (d.parent ?? "") === last.name);
    if (children.length === 0) out.push(path);
    for (const c of children) walk([...path, c]);
  };
  for (const root of defs.filter((d) => !d.parent)) walk([root]);
  return out;
}

/** One-level implied-grant expansion of an item's accesses (only isAllowed entries grant). */
function allowedAccessesOf(sd: RangerServiceDef, item: RangerPolicyItem): string[] {
  const out: string[] = [];
  for (const a of item.accesses ?? []) {
    if (a.isAllowed === false) continue;
    const type = a.type ?? "";
    out.push(type);
    const def = (sd.accessTypes ?? []).find((d) => d.name === type);
    for (const implied of def?.impliedGrants ?? []) out.push(implied);
  }
  return out;
}

// ------------------------------------------------------------------ element matching (§2.5)

function valuesOf(spec: RangerPolicyResource): string[] {
  return (spec.values ?? []).filter((v) => v !== null && v !== undefined && v !== "");
}

function isMatchAny(def: RangerResourceDef, spec: RangerPolicyResource): boolean {
  const vals = valuesOf(spec);
  const wild = boolOption(def, "wildCard", true);
  return vals.length === 0 || (wild && vals.includes("*"));
}

/** Does one (non-match-any) policy value match one concrete request value? */
function valueMatches(def: RangerResourceDef, spec: RangerPolicyResource, policyValue: string, req: string): boolean {
  const wild = boolOption(def, "wildCard", true);
  const ignoreCase = boolOption(def, "ignoreCase", true);
  const isPath = def.matcher === PATH_MATCHER;
  if (isPath && spec.isRecursive) {
    let pv = policyValue;
    if (wild && pv.endsWith("/")) pv += "*";
    const hasWildcard = wild && (pv.includes("*") || pv.includes("?"));
    if (hasWildcard) {
      // the request path is tried prefix by prefix at each separator boundary
      if (req === "") return false;
      const parts = req.split("/").filter((s) => s !== "");
      if (parts.length === 0) return wildcardMatch(req, pv, ignoreCase);
      let prefix = req.startsWith("/") ? "/" : "";
      for (const part of parts) {
        prefix += part;
        if (wildcardMatch(prefix, pv, ignoreCase)) return true;
        prefix += "/";
      }
      return false;
    }
    const noSep = pv.endsWith("/") ? pv.slice(0, -1) : pv;
    if (strEquals(req, noSep, ignoreCase)) return true;
    const withSep = noSep + "/";
    return ignoreCase ? req.toLowerCase().startsWith(withSep.toLowerCase()) : req.startsWith(withSep);
  }
  if (wild) return wildcardMatch(req, policyValue, ignoreCase);
  return strEquals(req, policyValue, ignoreCase);
}

function isAllValuesRequested(v: string | string[] | null | undefined): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0 || v.includes("*");
  return v === "" || v === "*";
}

/** Element matcher: match-any, "all values requested", collections (any element), excludes. */
function elementMatches(def: RangerResourceDef, spec: RangerPolicyResource, v: string | string[] | null | undefined) {
  const any = isMatchAny(def, spec);
  const allRequested = isAllValuesRequested(v);
  let matched: boolean;
  if (any || allRequested) matched = any;
  else {
    const reqValues = Array.isArray(v) ? v : [v as string];
    matched = valuesOf(spec).some((pv) => reqValues.some((rv) => valueMatches(def, spec, pv, rv)));
  }
  if (spec.isExcludes) {
    if (allRequested && !any) return false;
    return !matched;
  }
  return matched;
}

// ------------------------------------------------------------------ policy-level match type (§2.5)

function requestKeys(req: RangerAccessRequest): string[] {
  return Object.keys(req.resource.elements).filter((k) => req.resource.elements[k] !== undefined);
}

function specMatchType(
  sd: RangerServiceDef,
  policyType: number,
  spec: RangerPolicyResources,
  req: RangerAccessRequest,
): MatchType {
  const policyKeys = Object.keys(spec);
  const reqKeys = requestKeys(req);
  if (policyKeys.length === 0 && reqKeys.length === 0) return "SELF";
  const defs = resourceDefsFor(sd, policyType);
  const names = (h: RangerResourceDef[]) => h.map((d) => d.name);
  const hs = hierarchies(defs).filter((h) => {
    const n = names(h);
    return policyKeys.every((k) => n.includes(k)) && reqKeys.every((k) => n.includes(k));
  });
  if (hs.length === 0) return "NONE";
  const h = hs[0];
  // index (within h, among the levels the policy specifies) of the last matcher that is not match-any
  let lastNonAny = -1;
  for (let i = 0; i < h.length; i++) {
    const s = spec[h[i].name];
    if (s && !isMatchAny(h[i], s)) lastNonAny = i;
  }
  let ret: MatchType = reqKeys.length === 0 ? "SELF" : "NONE";
  for (const def of h) {
    const s = spec[def.name];
    const v = req.resource.elements[def.name];
    if (s) {
      if ((v !== null && v !== undefined) || isMatchAny(def, s)) {
        ret = elementMatches(def, s, v) ? "SELF" : "NONE";
        if (ret === "NONE") break;
      }
    } else {
      if (v !== null && v !== undefined) ret = "ANCESTOR";
      break;
    }
  }
  if (ret === "SELF" && reqKeys.length < policyKeys.length) {
    ret = reqKeys.length > lastNonAny ? "SELF_AND_ALL_DESCENDANTS" : "DESCENDANT";
  }
  return ret;
}

// ------------------------------------------------------------------ evaluation order (§2.6, §3.2)

function itemLists(p: RangerPolicy): RangerPolicyItem[][] {
  return [
    p.policyItems ?? [],
    p.denyPolicyItems ?? [],
    p.allowExceptions ?? [],
    p.denyExceptions ?? [],
    p.dataMaskPolicyItems ?? [],
    p.rowFilterPolicyItems ?? [],
  ];
}

export function hasDeny(p: RangerPolicy): boolean {
  return (p.denyPolicyItems ?? []).length > 0 || p.isDenyAllElse === true;
}

export function evalOrder(sd: RangerServiceDef, p: RangerPolicy): number {
  let order = 10000;
  let resourceDiscount = 0;
  for (const [name, spec] of Object.entries(p.resources ?? {})) {
    const vals = spec.values ?? [];
    if (vals.length === 0) continue;
    if (!(sd.resources ?? []).some((d) => d.name === name)) continue;
    let star = false;
    let question = false;
    let any = false;
    for (const v of vals) {
      if (v === "" || v === "*") {
        any = true;
        break;
      }
      if (v.includes("*")) star = true;
      else if (v.includes("?")) question = true;
    }
    if (any) resourceDiscount += 25;
    else {
      if (star) resourceDiscount += 10;
      else if (question) resourceDiscount += 5;
      if (spec.isExcludes) resourceDiscount += 5;
      if (spec.isRecursive) resourceDiscount += 5;
    }
  }
  order -= Math.min(100, resourceDiscount);
  const users = new Set<string>();
  const groups = new Set<string>();
  const perms = new Set<string>();
  for (const list of itemLists(p)) {
    for (const item of list) {
      for (const u of item.users ?? []) users.add(u);
      for (const g of item.groups ?? []) groups.add(g);
      for (const a of item.accesses ?? []) if (a.isAllowed !== false) perms.add(a.type ?? "");
    }
  }
  const hasPublic = p.isDenyAllElse === true || [...groups].some((g) => g.toLowerCase() === "public");
  const hasCurrentUser = [...users].some((u) => u.toLowerCase() === "{user}");
  order -= hasPublic || hasCurrentUser ? 25 : Math.min(users.size + groups.size, 25);
  const nTypes = (sd.accessTypes ?? []).length;
  if (nTypes > 0) order -= Math.round((25 * perms.size) / nTypes);
  order -= 25; // no policy or item conditions are generated: max(0, 25 - 5 * 0)
  return order;
}

/** EVAL_ORDER_COMPARATOR: priority desc, deny-bearing first, evalOrder asc, name. */
export function sortPolicies(sd: RangerServiceDef, policies: RangerPolicy[]): RangerPolicy[] {
  const keyed = policies.map((p) => ({ p, prio: p.policyPriority ?? 0, deny: hasDeny(p), order: evalOrder(sd, p) }));
  keyed.sort((a, b) => {
    if (a.prio !== b.prio) return b.prio - a.prio;
    if (a.deny !== b.deny) return a.deny ? -1 : 1;
    if (a.order !== b.order) return a.order - b.order;
    const an = a.p.name ?? "";
    const bn = b.p.name ?? "";
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
  return keyed.map((k) => k.p);
}

// ------------------------------------------------------------------ principals (§1.2, §2.4)

/** Roles of a request: explicit userRoles, else roles of the user, its groups and `public` (nested roles expanded). */
export function rolesForRequest(input: EngineInput, req: RangerAccessRequest): Set<string> {
  if (req.userRoles && req.userRoles.length > 0) return new Set(req.userRoles);
  const roles = input.roles ?? [];
  const byName = new Map(roles.map((r) => [r.name, r]));
  const groups = new Set([...(req.userGroups ?? []), "public"]);
  const out = new Set<string>();
  for (const r of roles) {
    // r plus every role reachable through `roles` members
    const closure = new Set<string>([r.name]);
    const stack = [r.name];
    while (stack.length > 0) {
      const cur = byName.get(stack.pop()!);
      for (const m of cur?.roles ?? []) {
        if (!closure.has(m.name)) {
          closure.add(m.name);
          stack.push(m.name);
        }
      }
    }
    for (const name of closure) {
      const role = byName.get(name);
      if (!role) continue;
      const userHit = req.user !== undefined && (role.users ?? []).some((m) => m.name === req.user);
      const groupHit = (role.groups ?? []).some((m) => groups.has(m.name));
      if (userHit || groupHit) out.add(r.name);
    }
  }
  return out;
}

function principalMatches(item: RangerPolicyItem, req: RangerAccessRequest, roles: Set<string>): boolean {
  const users = item.users ?? [];
  if (req.user !== undefined && req.user !== null && users.includes("{USER}")) return true;
  if (req.user !== undefined && users.includes(req.user)) return true;
  const groups = item.groups ?? [];
  if (groups.includes("public")) return true;
  if ((req.userGroups ?? []).some((g) => groups.includes(g))) return true;
  if ((item.roles ?? []).some((r) => roles.has(r))) return true;
  if (users.includes("{OWNER}") && req.user !== undefined && req.user === req.resource.ownerUser) return true;
  return false;
}

function itemMatches(
  sd: RangerServiceDef,
  item: RangerPolicyItem,
  req: RangerAccessRequest,
  roles: Set<string>,
  accessType: string,
): boolean {
  if (!principalMatches(item, req, roles)) return false;
  if (accessType === "_admin") return item.delegateAdmin === true;
  const want = accessType.toLowerCase();
  return allowedAccessesOf(sd, item).some((a) => a.toLowerCase() === want);
}

// ------------------------------------------------------------------ the decision (§2.2, §2.3)

interface OneResult {
  allowed: boolean;
  determined: boolean;
  policyId: number;
  priority: number;
}

/**
 * Evaluates one request against every policy of `policyType` (0 access, 1 mask, 2 row filter).
 * Disabled policies are ignored; everything else is looped over in Ranger's evaluation order.
 */
export function referenceEvaluate(input: EngineInput, req: RangerAccessRequest, policyType = 0): ReferenceResult {
  const sd = input.serviceDef;
  const enabled = input.policies.filter((p) => p.isEnabled !== false);
  const policies = sortPolicies(
    sd,
    enabled.filter((p) => (p.policyType ?? 0) === policyType),
  );
  const roles = rolesForRequest(input, req);
  const accessType = req.accessType === undefined || req.accessType === "" ? "_any" : req.accessType;
  const isAny = accessType === "_any";
  const requested = isAny ? (sd.accessTypes ?? []).map((a) => a.name) : [accessType];
  const ignoreDescendantDeny = req.isDescendantDenyIgnored !== false;
  // RangerPolicyEngineImpl#evaluatePoliciesNoAudit: for `_any`, ALLACCESSTYPES is every access type,
  // and when descendant denies are not ignored (RANGER-5001) each type is its own access-type group
  const groups = isAny && !ignoreDescendantDeny ? requested.map((a) => [a]) : null;

  const res: ReferenceResult = {
    isAllowed: false,
    isAccessDetermined: false,
    isAudited: false,
    auditPolicyId: -1,
    policyId: -1,
    policyPriority: 0,
  };
  let auditDetermined = false;
  // audit-default mode: audited when the repository holds no policies at all (of any type)
  if (input.policies.length === 0) {
    res.isAudited = true;
    auditDetermined = true;
  }

  const cfg = input.serviceConfig ?? {};
  const superUsers = cfg.superUsers ?? [];
  const superGroups = cfg.superGroups ?? [];
  const isSuper =
    (req.user !== undefined && superUsers.includes(req.user)) ||
    (req.userGroups ?? []).some((g) => superGroups.includes(g));
  if (isSuper || accessType === "_super_user") {
    res.isAllowed = isSuper;
    res.isAccessDetermined = true;
    res.policyId = -1;
    res.policyPriority = INT_MAX;
  }
  // no tag policies: "denied by tags" is exactly the non-super-user `_super_user` check
  const deniedByTags = res.isAccessDetermined && !res.isAllowed;
  const allowedByTags = res.isAccessDetermined && res.isAllowed;

  // hasResourcePolicies: the repository (all policy types) is non-empty; the loop below may see none
  if (input.policies.length > 0) {
    res.isAccessDetermined = false;
    const typeResults = new Map<string, OneResult>(); // ACCESS_TYPE_RESULTS, shared across policies
    for (const p of policies) {
      // Ranger loops over the trie's likely matches only, and "allowed by a policy without deny ⇒
      // determined" fires even for a candidate that then fails to match, which can change policyId.
      // The reference models an exact index: see isCandidate.
      if (!isCandidate(sd, policyType, p, req)) continue;
      const prio = p.policyPriority ?? 0;
      if (deniedByTags) {
        if (res.policyPriority >= prio) res.isAccessDetermined = true;
      } else if (res.isAllowed) {
        if (policyType === 0 ? res.policyPriority > prio : res.policyPriority >= prio) res.isAccessDetermined = true;
      }
      // RangerDefaultPolicyEvaluator#evaluate, once per resource spec
      const specs = [p.resources ?? {}, ...(p.additionalResources ?? [])];
      for (const spec of specs) {
        if (res.isAccessDetermined && auditDetermined) break;
        const mt = specMatchType(sd, policyType, spec, req);
        const matched =
          isAny || req.resourceMatchingScope === "SELF_OR_DESCENDANTS"
            ? mt !== "NONE" && mt !== "ANCESTOR"
            : mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS";
        if (!matched) continue;
        if (!auditDetermined && p.isAuditEnabled !== false) {
          res.isAudited = true;
          auditDetermined = true;
          res.auditPolicyId = p.id ?? -1;
        }
        if (res.isAccessDetermined) continue;
        if (policyType === 0 && !isAny)
          evaluateOneAccessType(sd, p, req, roles, accessType, ignoreDescendantDeny, mt, res);
        else if (policyType === 0)
          evaluateAccessItems(sd, p, req, roles, requested, groups, ignoreDescendantDeny, mt, typeResults, res);
        else evaluateMaskOrFilterItems(sd, p, req, roles, accessType, policyType, res);
      }
      if (res.isAllowed && !hasDeny(p)) res.isAccessDetermined = true;
      if (auditDetermined && res.isAccessDetermined) break;
    }
    if (!res.isAccessDetermined) {
      if (deniedByTags) res.isAllowed = false;
      else if (allowedByTags) res.isAllowed = true;
      if (!res.isAllowed && cfg.isFallbackSupported !== true) res.isAccessDetermined = true;
    }
    if (res.isAllowed) res.isAccessDetermined = true;
  }
  return res;
}

/**
 * The policies Ranger's resource tries hand to the loop (§3.1): every policy when the request names
 * no resource; otherwise a policy some resource spec of which is related to the request (SELF,
 * DESCENDANT, ANCESTOR or SELF_AND_ALL_DESCENDANTS: the tries are a pre-filter, so whatever matches
 * is among them — e.g. a recursive `/a/` is taken to be returned for `/a`, which the matcher
 * accepts), plus the non-matching specs the tries return too. Ranger keeps one trie per resource
 * name and looks up only the keys the request has; a spec is returned when every such lookup
 * returns it (RangerResourceEvaluatorsRetriever#getEvaluators intersects the per-key sets). What one lookup
 * returns is modelled in `trieReturns`, artefacts included, because a candidate that then fails to
 * match still counts for "allowed and no deny ⇒ determined"
 * (RangerPolicyEngineImpl#evaluatePoliciesForOneAccessTypeNoAudit checks `ret.getIsAllowed() &&
 * !evaluator.hasDeny()` after every evaluate). E.g. `res0=[""]` (match-any) with an excludes
 * `res2=[""]` is returned for `{res0: ab}` though it matches NONE; but an excludes `res1` does not
 * make a policy a candidate when its `res0` values miss the request's `res0`.
 */
function isCandidate(sd: RangerServiceDef, policyType: number, p: RangerPolicy, req: RangerAccessRequest): boolean {
  const keys = requestKeys(req);
  if (keys.length === 0) return true;
  const defs = resourceDefsFor(sd, policyType);
  const looked = keys.filter((k) => defs.some((d) => d.name === k));
  if (looked.length === 0) return false;
  const specs = [p.resources ?? {}, ...(p.additionalResources ?? [])];
  return specs.some(
    (spec) =>
      specMatchType(sd, policyType, spec, req) !== "NONE" ||
      looked.every((k) => trieReturns(defs, spec, k, req.resource.elements[k])),
  );
}

/**
 * Does Ranger's trie for resource `key` return a policy with this spec for the request value?
 * RangerResourceTrie#buildTrie: a spec without the key is filed as a wildcard at the root when its
 * leaf is an ancestor of the key (`isAncestorOf`), else not at all; an excludes or match-any value
 * list is a wildcard at the root; otherwise each value is inserted under its non-wildcard prefix
 * (wildcard chars `*?` when wildCard is on, plus the token delimiters when replaceTokens is on) —
 * as a wildcard entry when the value had a wildcard or is recursive, else as an exact entry.
 * getEvaluatorsForResource walks the value down the trie (case-folded with ignoreCase) and returns
 * the wildcard entries of every node passed, plus the exact entries of the node where the value
 * ends exactly. So a wildcard value is returned for every value starting with its prefix, an exact
 * value only for that value. A collection value returns the union over its elements.
 */
function trieReturns(
  defs: RangerResourceDef[],
  spec: RangerPolicyResources,
  key: string,
  v: string | string[] | null | undefined,
): boolean {
  const def = defs.find((d) => d.name === key);
  if (!def) return false;
  const res = spec[key];
  if (!res) return isAncestorOf(defs, spec, def);
  if (res.isExcludes === true || isMatchAny(def, res)) return true;
  const wild = boolOption(def, "wildCard", true);
  const ignoreCase = boolOption(def, "ignoreCase", true);
  let special = wild ? "*?" : "";
  if (boolOption(def, "replaceTokens", true)) {
    const opt = (name: string, dflt: string) => {
      const o = def.matcherOptions?.[name];
      return typeof o === "string" && o.length > 0 ? o[0] : dflt;
    };
    special += opt("tokenDelimiterStart", "{") + opt("tokenDelimiterEnd", "}") + opt("tokenDelimiterEscape", "\\");
  }
  const fold = (x: string) => (ignoreCase ? x.toLowerCase() : x);
  const lookups = v === null || v === undefined ? [] : Array.isArray(v) ? (v.length === 0 ? [""] : v) : [v];
  for (const value of res.values ?? []) {
    if (value === null || value === undefined) continue;
    let cut = value.length;
    for (const c of special) {
      const i = value.indexOf(c);
      if (i >= 0 && i < cut) cut = i;
    }
    const prefix = fold(value.slice(0, cut));
    const asWildcard = cut !== value.length || res.isRecursive === true;
    for (const x of lookups) {
      if (asWildcard ? fold(x).startsWith(prefix) : fold(x) === prefix) return true;
    }
  }
  return false;
}

/**
 * `RangerPolicyResourceEvaluator#isAncestorOf(def)`: the spec's leaf resource (its deepest level)
 * is a proper ancestor of `def` along `parent` links.
 */
function isAncestorOf(defs: RangerResourceDef[], spec: RangerPolicyResources, def: RangerResourceDef): boolean {
  let leaf: RangerResourceDef | undefined;
  for (const name of Object.keys(spec)) {
    const d = defs.find((x) => x.name === name);
    if (d && (leaf === undefined || (d.level ?? 0) > (leaf.level ?? 0))) leaf = d;
  }
  if (!leaf) return false;
  let cur = defs.find((x) => x.name === (def.parent ?? ""));
  while (cur) {
    if (cur.name === leaf.name) return true;
    cur = defs.find((x) => x.name === (cur?.parent ?? ""));
  }
  return false;
}

/** One policy's outcome for one access type: a deny item (minus deny exceptions), else an allow item (minus allow exceptions), else deny-all-else. */
function itemOutcome(
  sd: RangerServiceDef,
  p: RangerPolicy,
  req: RangerAccessRequest,
  roles: Set<string>,
  a: string,
): "ALLOW" | "DENY" | "NONE" {
  const matchesAny = (items: RangerPolicyItem[] | undefined) =>
    (items ?? []).some((it) => itemMatches(sd, it, req, roles, a));
  let denyItem = matchesAny(p.denyPolicyItems);
  if (denyItem && matchesAny(p.denyExceptions)) denyItem = false;
  if (denyItem) return "DENY";
  let allowItem = matchesAny(p.policyItems);
  if (allowItem && matchesAny(p.allowExceptions)) allowItem = false;
  if (allowItem) return "ALLOW";
  return p.isDenyAllElse === true ? "DENY" : "NONE";
}

/**
 * One access type, no ALLACCESSTYPES in the context: RangerDefaultPolicyEvaluator#evaluatePolicyItems
 * takes its else branch and #updateAccessResult changes the result itself. A deny always does
 * (setIsAllowed(false) also determines access), except a DESCENDANT match while descendant denies
 * are ignored; an allow only while the result is not allowed yet.
 */
function evaluateOneAccessType(
  sd: RangerServiceDef,
  p: RangerPolicy,
  req: RangerAccessRequest,
  roles: Set<string>,
  accessType: string,
  ignoreDescendantDeny: boolean,
  mt: MatchType,
  res: ReferenceResult,
): void {
  const outcome = itemOutcome(sd, p, req, roles, accessType);
  if (outcome === "NONE") return;
  if (outcome === "DENY") {
    if (mt === "DESCENDANT" && ignoreDescendantDeny) return;
    res.isAllowed = false;
    res.isAccessDetermined = true;
  } else {
    if (res.isAllowed) return;
    res.isAllowed = true;
  }
  res.policyId = p.id ?? -1;
  res.policyPriority = p.policyPriority ?? 0;
}

/**
 * `_any`: the access items of one policy, per requested access type, merged into the shared
 * per-type map (ACCESS_TYPE_RESULTS), then the composite (RangerDefaultPolicyEvaluator
 * #evaluatePolicyItems, #getCompositeAccessResult, #deriveAccessResultFromGroup).
 */
function evaluateAccessItems(
  sd: RangerServiceDef,
  p: RangerPolicy,
  req: RangerAccessRequest,
  roles: Set<string>,
  requested: string[],
  groups: string[][] | null,
  ignoreDescendantDeny: boolean,
  mt: MatchType,
  typeResults: Map<string, OneResult>,
  res: ReferenceResult,
): void {
  const isAny = true;
  const prio = p.policyPriority ?? 0;
  const id = p.id ?? -1;
  for (const a of requested) {
    let outcome = itemOutcome(sd, p, req, roles, a);
    // deny() is ignored for DESCENDANT matches when descendant denies are ignored
    if (outcome === "DENY" && mt === "DESCENDANT" && ignoreDescendantDeny) outcome = "NONE";
    if (outcome === "NONE") continue;
    const one: OneResult = {
      allowed: outcome === "ALLOW",
      determined: outcome === "DENY",
      policyId: id,
      priority: prio,
    };
    const old = typeResults.get(a);
    if (!old) typeResults.set(a, one);
    else if (old.allowed) {
      if (!one.allowed && prio >= old.priority) typeResults.set(a, one);
      // §2.3: for access policies a later allow replaces an earlier allow only at strictly higher
      // priority. Ranger's RangerDefaultPolicyEvaluator#evaluatePolicyItems: `if (oldResult.getIsAllowed())
      // { … else if (policyType == ACCESS) { if (getPolicyPriority() > oldPriority) put(allowResult) } }`.
      // The policyIds written in test_policyengine_hive "_any access to db1" (3) and test_policyengine_hdfs
      // "read /test/restricted/sales.db" (10) disagree with that, but TestPolicyEngine does not assert
      // policyId for access results (semantics §5.1), so they are not evidence.
      if (one.allowed && prio > old.priority) typeResults.set(a, one);
    } else {
      if (one.allowed && prio >= old.priority && isAny) typeResults.set(a, one);
      else if (prio > old.priority) typeResults.set(a, one);
    }
    // one outcome settles the policy: an allow when descendant denies are ignored, else a deny
    if (ignoreDescendantDeny ? one.allowed : !one.allowed) break;
  }
  // one group: its first allowed type; else, when every type has an entry, its first denied one
  const groupResult = (types: string[]): OneResult | undefined => {
    for (const a of types) {
      const r = typeResults.get(a);
      if (r?.allowed) return r;
    }
    return types.every((a) => typeResults.get(a) !== undefined) ? typeResults.get(types[0]) : undefined;
  };
  // no groups: the requested types are one group; groups: the first denied group, else allowed
  // when every group is allowed (by the first one's result)
  let composite: OneResult | undefined;
  if (groups === null) composite = groupResult(requested);
  else {
    let firstAllowed: OneResult | undefined;
    let allAllowed = true;
    for (const g of groups) {
      const r = groupResult(g);
      if (r === undefined) allAllowed = false;
      else if (!r.allowed) {
        composite = r;
        break;
      } else firstAllowed ??= r;
    }
    if (composite === undefined && allAllowed) composite = firstAllowed;
  }
  if (composite) {
    if (isAny && composite.allowed) {
      res.acceptablePolicyIds = requested
        .map((a) => typeResults.get(a))
        .filter((r): r is OneResult => r?.allowed === true)
        .map((r) => r.policyId);
    } else delete res.acceptablePolicyIds;
    res.isAllowed = composite.allowed;
    res.isAccessDetermined = composite.determined;
    res.policyId = composite.policyId;
    res.policyPriority = composite.priority;
  }
}

/** Mask / row-filter: the first item (in list order) whose principal and access match decides. */
function evaluateMaskOrFilterItems(
  sd: RangerServiceDef,
  p: RangerPolicy,
  req: RangerAccessRequest,
  roles: Set<string>,
  accessType: string,
  policyType: number,
  res: ReferenceResult,
): void {
  if (policyType === 1) {
    const item = (p.dataMaskPolicyItems ?? []).find((it) => itemMatches(sd, it, req, roles, accessType));
    if (!item || res.isAllowed) return;
    res.isAllowed = true;
    res.policyId = p.id ?? -1;
    res.policyPriority = p.policyPriority ?? 0;
    res.maskType = item.dataMaskInfo?.dataMaskType;
    res.maskCondition = item.dataMaskInfo?.conditionExpr;
    res.maskedValue = item.dataMaskInfo?.valueExpr;
  } else {
    const item = (p.rowFilterPolicyItems ?? []).find((it) => itemMatches(sd, it, req, roles, accessType));
    if (!item || res.isAllowed) return;
    const filter = item.rowFilterInfo?.filterExpr;
    if (filter === undefined || filter === null) return;
    res.isAllowed = true;
    res.policyId = p.id ?? -1;
    res.policyPriority = p.policyPriority ?? 0;
    res.filterExpr = filter;
  }
}
