/**
 * Content-addressed sharing of the small string sets policies keep (principals, access types): one
 * repository's items with equal sets hold one Set object. At 100k policies most items share a
 * handful of access sets and ~1 group set per group, so the sets (and the names in them) stay in
 * cache instead of being one cold object per policy, and the heap holds far fewer of them.
 */
export class SetPool {
  private readonly sets = new Map<string, ReadonlySet<string>>();

  share(set: ReadonlySet<string>): ReadonlySet<string> {
    if (set.size === 0) return set;
    let key: string;
    if (set.size === 1) key = set.values().next().value as string;
    else key = [...set].sort().join("\u0000");
    const hit = this.sets.get(key);
    if (hit !== undefined) return hit;
    this.sets.set(key, set);
    return set;
  }
}
