import type { RangerPolicyResource, RangerResourceDef, ResourceElementMatchingScope } from "../types.ts";
import { DEFAULT_TOKEN_SYNTAX, hasToken, replaceTokens, type TokenSyntax } from "./tokens.ts";
import { hasWildcard, wildcardMatch, wildcardPrefixMatch } from "./wildcard.ts";
import { spendWork, type WorkBudget } from "./work-budget.ts";

/**
 * Matches one resource element (e.g. `table`) of a request against one policy's values for it,
 * with Ranger's element semantics (`RangerDefaultResourceMatcher`, `RangerPathResourceMatcher`,
 * `RangerURLResourceMatcher`): wildcards, case options, quoted case-sensitivity, excludes,
 * recursive paths, `{TOKEN}` and `${{expr}}` substitution, and element matching scopes.
 * Everything that does not depend on the request is decided once, at construction.
 */

/** What a dynamic value needs from the request: tokens (`token:USER`…) and expression resolution. */
export interface MatchEnv {
  token(name: string): unknown;
  /** Resolves `${{…}}` in `text`; null when it cannot be resolved. */
  resolveExpressions(text: string): string | null;
  /** The request's matching budget (match/work-budget.ts); absent: unbounded. */
  readonly budget?: WorkBudget | undefined;
}

export const STATIC_ENV: MatchEnv = { token: () => undefined, resolveExpressions: (t) => t };

type Kind = "equals" | "startsWith" | "endsWith" | "wildcard" | "recursive" | "recursiveWildcard";

/** One policy value, pre-classified so matching is a single string operation in the common case. */
class ValueMatcher {
  readonly kind: Kind;
  /** folded value (lower-cased when case-insensitive) */
  readonly value: string;
  readonly ignoreCase: boolean;
  readonly dynamic: boolean;
  readonly raw: string;
  /** cost rank: exact < starts/ends < wildcard, +8 when dynamic (Ranger's PriorityComparator) */
  readonly priority: number;

  private readonly owner: ElementMatcher;

  constructor(raw: string, ignoreCase: boolean, dynamic: boolean, owner: ElementMatcher) {
    this.owner = owner;
    this.raw = raw;
    this.ignoreCase = ignoreCase;
    this.dynamic = dynamic;
    const kind = classify(raw, owner);
    this.kind = kind;
    this.value = ignoreCase ? raw.toLowerCase() : raw;
    const base = kind === "equals" ? 1 : kind === "startsWith" || kind === "endsWith" ? 2 : 3;
    this.priority = base + (dynamic ? 8 : 0);
  }

  isMatch(input: string, scope: ResourceElementMatchingScope | undefined, env: MatchEnv): boolean {
    let kind = this.kind;
    let value = this.value;
    if (this.dynamic) {
      const resolved = this.owner.resolveValue(this.raw, env);
      if (resolved === null) return false;
      kind = classify(resolved, this.owner);
      value = this.ignoreCase ? resolved.toLowerCase() : resolved;
    }
    const text = this.ignoreCase ? input.toLowerCase() : input;
    if (matchKind(kind, text, value, this.owner.separator)) return true;
    if (scope === "SELF_OR_PREFIX") return prefixMatch(kind, text, value);
    if (scope === "SELF_OR_CHILD") return childMatch(kind, text, value, this.owner.separator);
    return false;
  }
}

function classify(value: string, owner: ElementMatcher): Kind {
  if (owner.isPath && owner.isRecursive) {
    if (owner.wildCard && hasWildcard(value)) return "recursiveWildcard";
    return "recursive";
  }
  if (!owner.wildCard || !hasWildcard(value)) return "equals";
  const star = value.indexOf("*");
  if (value.includes("?")) return "wildcard";
  const inner = value.slice(1, -1);
  if (star === 0 && value.length > 1 && !value.slice(1).includes("*")) return "endsWith";
  if (star === value.length - 1 && !value.slice(0, -1).includes("*")) return "startsWith";
  if (value.length > 2 && value.startsWith("*") && value.endsWith("*") && !inner.includes("*")) return "wildcard";
  return "wildcard";
}

function matchKind(kind: Kind, text: string, value: string, sep: string): boolean {
  switch (kind) {
    case "equals":
      return text === value;
    case "startsWith":
      return text.startsWith(value.slice(0, -1));
    case "endsWith":
      return text.endsWith(value.slice(1));
    case "wildcard":
      return wildcardMatch(text, value);
    case "recursive":
      return recursivePathMatch(text, value, sep);
    case "recursiveWildcard":
      return recursiveWildcardMatch(text, value, sep);
  }
}

/** Path value without wildcards, recursive: the path itself or anything below it. */
function recursivePathMatch(text: string, value: string, sep: string): boolean {
  if (text === value) return true;
  const base = value.endsWith(sep) ? value : value + sep;
  if (text.startsWith(base)) return true;
  // "/a/b/" in a policy also covers the request "/a/b"
  return value.endsWith(sep) && text === value.slice(0, -1);
}

/** Recursive wildcard path: some `sep`-boundary prefix of the request matches the pattern. */
function recursiveWildcardMatch(text: string, pattern: string, sep: string): boolean {
  if (wildcardMatch(text, pattern)) return true;
  if (pattern.endsWith(sep) && wildcardMatch(text, pattern + "*")) return true;
  let prefix = text.startsWith(sep) ? sep : "";
  const parts = text.split(sep).filter((p) => p.length > 0);
  for (const p of parts) {
    prefix += p;
    if (wildcardMatch(prefix, pattern)) return true;
    prefix += sep;
  }
  return false;
}

function prefixMatch(kind: Kind, text: string, value: string): boolean {
  switch (kind) {
    case "equals":
    case "recursive":
      return value.startsWith(text);
    case "startsWith": {
      const lit = value.slice(0, -1);
      return lit.startsWith(text) || text.startsWith(lit);
    }
    case "endsWith":
      return true;
    default:
      return wildcardPrefixMatch(text, value);
  }
}

function childMatch(kind: Kind, text: string, value: string, sep: string): boolean {
  const v = value.endsWith(sep) && value.length > 1 ? value.slice(0, -1) : value;
  const idx = v.lastIndexOf(sep);
  if (idx < 0) return false;
  const parent = idx === 0 ? sep : v.slice(0, idx);
  const t = text.length > 1 && text.endsWith(sep) ? text.slice(0, -1) : text;
  if (kind === "equals" || kind === "recursive") return parent === t;
  return wildcardMatch(t, parent);
}

/**
 * A policy's static `value`, `prefix*` and `*suffix` values of one case mode, looked up rather than
 * tried one by one: a request value costs a hash lookup per distinct literal length instead of a
 * comparison per policy value, so a request of many values against a policy of many values is not
 * the product of the two. Answers exactly what those values' ValueMatchers answer in the SELF scope.
 */
class LiteralIndex {
  readonly equals = new Set<string>();
  /** literal (value without its trailing `*`) by its length */
  readonly prefixes = new Map<number, Set<string>>();
  /** literal (value without its leading `*`) by its length */
  readonly suffixes = new Map<number, Set<string>>();
  size = 0;

  add(m: ValueMatcher): void {
    this.size++;
    if (m.kind === "equals") this.equals.add(m.value);
    else if (m.kind === "startsWith") addByLength(this.prefixes, m.value.slice(0, -1));
    else addByLength(this.suffixes, m.value.slice(1));
  }

  /** `text` is already folded when this index's values are. */
  has(text: string): boolean {
    if (this.equals.has(text)) return true;
    const n = text.length;
    for (const [len, set] of this.prefixes) if (len <= n && set.has(text.slice(0, len))) return true;
    for (const [len, set] of this.suffixes) if (len <= n && set.has(text.slice(n - len))) return true;
    return false;
  }
}

function addByLength(map: Map<number, Set<string>>, literal: string): void {
  let set = map.get(literal.length);
  if (set === undefined) {
    set = new Set();
    map.set(literal.length, set);
  }
  set.add(literal);
}

/** Static values from which an element matcher looks its literals up (LiteralIndex) instead of trying each. */
const INDEX_MIN_VALUES = 8;

function boolOption(options: Record<string, string | boolean> | undefined, name: string, dflt: boolean): boolean {
  const v = options?.[name];
  if (v === undefined || v === null || v === "") return dflt;
  return String(v).toLowerCase() === "true";
}

function charOption(options: Record<string, string | boolean> | undefined, name: string, dflt: string): string {
  const v = options?.[name];
  if (v === undefined || v === null || v === "") return dflt;
  return String(v)[0];
}

/** Request values that mean "all values": absent, empty, or `*` (Ranger's `isAllValuesRequested`). */
export function isAllValuesRequested(value: string | string[] | null | undefined): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "string") return value === "" || value === "*";
  return value.length === 0;
}

/**
 * A request collection (e.g. Atlas entity-type plus its super-types, or an entity's classifications)
 * matches when any of its elements matches, as test_policyengine_atlas.json requires.
 */
const COLLECTION_REQUIRES_ALL = false;

export class ElementMatcher {
  readonly resourceName: string;
  readonly isMatchAny: boolean;
  readonly isExcludes: boolean;
  readonly isRecursive: boolean;
  readonly isPath: boolean;
  readonly wildCard: boolean;
  readonly ignoreCase: boolean;
  readonly separator: string;
  readonly tokenSyntax: TokenSyntax;
  readonly replaceTokens: boolean;
  readonly replaceExpressions: boolean;
  /** values as written in the policy (non-empty) */
  readonly values: readonly string[];
  /** true when some value depends on the request (tokens or expressions) */
  readonly isDynamic: boolean;
  private readonly matchers: readonly ValueMatcher[];
  /**
   * With many values (INDEX_MIN_VALUES): the static literal values, folded and case-sensitive, and
   * the values that must still be tried one by one (`rest`, in priority order). Null otherwise.
   */
  private readonly folded: LiteralIndex | null = null;
  private readonly exact: LiteralIndex | null = null;
  private readonly rest: readonly ValueMatcher[] = [];
  /** matching work one request value costs (work-budget.ts): one lookup plus each value tried in turn */
  readonly costPerValue: number;

  constructor(def: RangerResourceDef | undefined, resource: RangerPolicyResource | undefined) {
    const opts = def?.matcherOptions;
    const matcherClass = def?.matcher ?? "";
    this.resourceName = def?.name ?? "";
    this.isPath = /PathResourceMatcher|URLResourceMatcher/.test(matcherClass);
    this.wildCard = boolOption(opts, "wildCard", true);
    this.ignoreCase = boolOption(opts, "ignoreCase", true);
    const quotedCaseSensitive = boolOption(opts, "quotedCaseSensitive", false);
    const quoteChars = String(opts?.quoteChars ?? '"');
    this.replaceTokens = boolOption(opts, "replaceTokens", true);
    this.replaceExpressions = boolOption(opts, "replaceReqExpressions", true);
    this.tokenSyntax = {
      start: charOption(opts, "tokenDelimiterStart", DEFAULT_TOKEN_SYNTAX.start),
      end: charOption(opts, "tokenDelimiterEnd", DEFAULT_TOKEN_SYNTAX.end),
      escape: charOption(opts, "tokenDelimiterEscape", DEFAULT_TOKEN_SYNTAX.escape),
      prefix: String(opts?.tokenDelimiterPrefix ?? ""),
    };
    this.separator = charOption(opts, "pathSeparatorChar", charOption(opts, "pathSeperatorChar", "/"));
    this.isExcludes = resource?.isExcludes === true;
    this.isRecursive = resource?.isRecursive === true;

    const values: string[] = [];
    let matchAny = false;
    for (const v of resource?.values ?? []) {
      if (v === null || v === undefined || v === "") continue;
      if (this.wildCard && /^\*+$/.test(v)) matchAny = true;
      values.push(v);
    }
    if (values.length === 0) matchAny = true;
    this.isMatchAny = matchAny;
    this.values = values;

    const matchers: ValueMatcher[] = [];
    let dynamic = false;
    for (const raw of values) {
      let v = raw;
      if (this.isPath && this.isRecursive && this.wildCard && v.length > 1 && v.endsWith(this.separator)) v += "*";
      const isDyn =
        (this.replaceExpressions && v.includes("${{")) || (this.replaceTokens && hasToken(v, this.tokenSyntax));
      dynamic ||= isDyn;
      const quoted = quotedCaseSensitive && v.length > 0 && quoteChars.includes(v[0]);
      matchers.push(new ValueMatcher(v, this.ignoreCase && !quoted, isDyn, this));
    }
    matchers.sort((a, b) => a.priority - b.priority);
    this.matchers = matchers;
    this.isDynamic = dynamic;
    this.costPerValue = matchers.length;
    if (matchers.length >= INDEX_MIN_VALUES) {
      const folded = new LiteralIndex();
      const exact = new LiteralIndex();
      const rest: ValueMatcher[] = [];
      for (const m of matchers) {
        const literal = !m.dynamic && (m.kind === "equals" || m.kind === "startsWith" || m.kind === "endsWith");
        if (!literal) rest.push(m);
        else if (m.ignoreCase) folded.add(m);
        else exact.add(m);
      }
      this.folded = folded.size > 0 ? folded : null;
      this.exact = exact.size > 0 ? exact : null;
      this.rest = rest;
      this.costPerValue = 1 + rest.length;
    }
  }

  /** Applies tokens and expressions to a dynamic policy value for one request. */
  resolveValue(raw: string, env: MatchEnv): string | null {
    let v: string | null = raw;
    if (this.replaceExpressions && v.includes("${{")) v = env.resolveExpressions(v);
    if (v !== null && this.replaceTokens) v = replaceTokens(v, this.tokenSyntax, (name) => env.token(name));
    return v;
  }

  /** Ranger's `isMatch(resource, scope, ctx)` including excludes. */
  isMatch(
    input: string | string[] | null | undefined,
    scope: ResourceElementMatchingScope | undefined,
    env: MatchEnv,
  ): boolean {
    // "" under SELF_OR_PREFIX asks for every value with that (empty) prefix, not for "all values"
    const all = isAllValuesRequested(input) && !(input === "" && scope === "SELF_OR_PREFIX");
    let ret: boolean;
    if (all || this.isMatchAny) ret = this.isMatchAny;
    else if (typeof input === "string") ret = this.matchOne(input, scope, env);
    else {
      ret = COLLECTION_REQUIRES_ALL;
      // a collection multiplies the work by its length: each value is charged before it is matched
      const budget = env.budget;
      for (const v of input as string[]) {
        if (budget !== undefined) spendWork(budget, this.costPerValue, this.resourceName);
        const one = this.matchOne(v, scope, env);
        if (COLLECTION_REQUIRES_ALL ? !one : one) {
          ret = !COLLECTION_REQUIRES_ALL;
          break;
        }
      }
    }
    return this.applyExcludes(all, ret);
  }

  private matchOne(input: string, scope: ResourceElementMatchingScope | undefined, env: MatchEnv): boolean {
    // the literal indexes answer the SELF scope only; prefix and child scopes try every value
    if ((this.folded !== null || this.exact !== null) && (scope === undefined || scope === "SELF")) {
      if (this.exact?.has(input)) return true;
      if (this.folded?.has(input.toLowerCase())) return true;
      for (const m of this.rest) if (m.isMatch(input, scope, env)) return true;
      return false;
    }
    for (const m of this.matchers) if (m.isMatch(input, scope, env)) return true;
    return false;
  }

  applyExcludes(allValuesRequested: boolean, result: boolean): boolean {
    if (!this.isExcludes) return result;
    if (allValuesRequested && !this.isMatchAny) return result;
    return !result;
  }
}
