import type { PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type { RangerResourceDef } from "../types.ts";

type Elements = Readonly<Record<string, string | string[] | null | undefined>>;

/**
 * Would Ranger's resource tries hand a policy spec to the evaluation loop for these request
 * elements? Decides which policies that end above the request are loop candidates: they never
 * match, but "allowed, and this policy has no deny ⇒ determined" still fires on them, which can
 * change the `_any` policyId (test/corpus/test_policyengine_fuzz_ancestor_trie_artefact.json).
 *
 * Ranger keeps one trie per resource name, looks up only the requested keys and keeps what every
 * lookup returns (RangerResourceEvaluatorsRetriever#getEvaluators). RangerResourceTrie#buildTrie
 * files a spec without the key as a root wildcard when its leaf is an ancestor of the key, an
 * excludes or match-any value list as a root wildcard, and every other value under its
 * non-wildcard prefix: as a wildcard entry when the value has a wildcard (or is recursive), else
 * as an exact entry. A lookup returns the wildcard entries of every node its value passes and the
 * exact entries where it ends, so a wildcard value is returned for every value starting with its
 * prefix (e.g. `a?` for `a`, which it does not match) and an exact value only for itself.
 */
export function isTrieCandidate(
  spec: PolicyResourceMatcher,
  elements: Elements,
  defs: ReadonlyMap<string, RangerResourceDef>,
): boolean {
  let looked = 0;
  for (const key in elements) {
    const v = elements[key];
    if (v === undefined || v === null) continue;
    const def = defs.get(key);
    if (!def) continue;
    looked++;
    if (!trieReturns(spec, key, v, def, defs)) return false;
  }
  return looked > 0;
}

function trieReturns(
  spec: PolicyResourceMatcher,
  key: string,
  v: string | string[],
  def: RangerResourceDef,
  defs: ReadonlyMap<string, RangerResourceDef>,
): boolean {
  const m = spec.matchers.get(key);
  const res = spec.resources[key];
  if (!m || !res) return isAncestorOf(spec, def, defs);
  if (m.isExcludes || m.isMatchAny) return true;
  let special = m.wildCard ? "*?" : "";
  if (m.replaceTokens) special += m.tokenSyntax.start + m.tokenSyntax.end + m.tokenSyntax.escape;
  const lookups = Array.isArray(v) ? (v.length === 0 ? [""] : v) : [v];
  for (const value of res.values ?? []) {
    if (value === null || value === undefined) continue;
    let cut = value.length;
    for (const c of special) {
      const i = value.indexOf(c);
      if (i >= 0 && i < cut) cut = i;
    }
    const prefix = m.ignoreCase ? value.slice(0, cut).toLowerCase() : value.slice(0, cut);
    const asWildcard = cut !== value.length || m.isRecursive;
    for (const x0 of lookups) {
      const x = m.ignoreCase ? x0.toLowerCase() : x0;
      if (asWildcard ? x.startsWith(prefix) : x === prefix) return true;
    }
  }
  return false;
}

/** `RangerPolicyResourceEvaluator#isAncestorOf`: the spec's deepest level is a proper ancestor of `def`. */
function isAncestorOf(
  spec: PolicyResourceMatcher,
  def: RangerResourceDef,
  defs: ReadonlyMap<string, RangerResourceDef>,
): boolean {
  let leaf: RangerResourceDef | undefined;
  for (const name in spec.resources) {
    const d = defs.get(name);
    if (d && (leaf === undefined || (d.level ?? 0) > (leaf.level ?? 0))) leaf = d;
  }
  if (!leaf) return false;
  for (let cur = defs.get(def.parent ?? ""); cur; cur = defs.get(cur.parent ?? "")) {
    if (cur.name === leaf.name) return true;
  }
  return false;
}
