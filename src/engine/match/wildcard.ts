/**
 * Wildcard matching with commons-io `FilenameUtils.wildcardMatch` semantics: `*` matches any
 * sequence (including empty, including path separators), `?` exactly one character, no escaping.
 * Implemented as a small NFA over pattern positions so it also answers "could `text` be a prefix
 * of some match" (needed for the SELF_OR_PREFIX element scope) without building regexes.
 */

/** True when `pattern` has `*` or `?`. */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/** Full match of `text` against `pattern`. Both must already be case-folded if case is ignored. */
export function wildcardMatch(text: string, pattern: string): boolean {
  // Classic two-pointer algorithm with backtracking to the last `*`; linear for typical patterns.
  let t = 0;
  let p = 0;
  let star = -1;
  let mark = 0;
  const tl = text.length;
  const pl = pattern.length;
  while (t < tl) {
    const pc = p < pl ? pattern.charCodeAt(p) : -1;
    if (pc === 63 /* ? */ || (pc !== 42 && pc === text.charCodeAt(t))) {
      t++;
      p++;
    } else if (pc === 42 /* * */) {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pl && pattern.charCodeAt(p) === 42) p++;
  return p === pl;
}

/** True when some string matching `pattern` starts with `text` (i.e. `text` is a viable prefix). */
export function wildcardPrefixMatch(text: string, pattern: string): boolean {
  // Simulate the NFA; if it survives consuming all of `text`, a completion exists.
  let states = new Set<number>([0]);
  const closure = (s: Set<number>) => {
    for (const p of [...s]) {
      let q = p;
      while (q < pattern.length && pattern.charCodeAt(q) === 42) {
        q++;
        s.add(q);
      }
    }
    return s;
  };
  states = closure(states);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const next = new Set<number>();
    for (const p of states) {
      if (p >= pattern.length) continue;
      const pc = pattern.charCodeAt(p);
      if (pc === 42) next.add(p);
      else if (pc === 63 || pc === c) next.add(p + 1);
    }
    if (next.size === 0) return false;
    states = closure(next);
  }
  return true;
}
