/**
 * A caller's read-only record (a `ServiceTags` document's `tags` or `resourceToTagIds`) with local
 * edits on top. The tag store keeps the document's maps by reference, so a build copies none of
 * their entries (100,000 of each at 100,000 tagged resources), and deltas still change them.
 * Entries whose value is null or undefined count as absent.
 */
export class OverlayRecord<V> {
  private base: Readonly<Record<string, V | null | undefined>> = {};
  /** edited keys; null marks a deleted one */
  private readonly edits = new Map<string, V | null>();
  /** entry count, computed on first use (only deltas ask) and kept up to date from then on */
  private count = -1;

  constructor(base?: Readonly<Record<string, V | null | undefined>>) {
    this.reset(base);
  }

  /** Forgets every edit and reads `base` from now on. */
  reset(base: Readonly<Record<string, V | null | undefined>> | undefined): void {
    this.base = base ?? {};
    this.edits.clear();
    this.count = -1;
  }

  get(key: string): V | undefined {
    if (this.edits.size > 0) {
      const e = this.edits.get(key);
      if (e !== undefined) return e ?? undefined;
    }
    return Object.hasOwn(this.base, key) ? (this.base[key] ?? undefined) : undefined;
  }

  set(key: string, value: V): void {
    if (this.count >= 0 && this.get(key) === undefined) this.count++;
    this.edits.set(key, value);
  }

  delete(key: string): void {
    if (this.count >= 0 && this.get(key) !== undefined) this.count--;
    this.edits.set(key, null);
  }

  /**
   * Whether no entry is present. Without a known count it looks for the first present entry, and
   * counts everything once that search has had to skip many deleted ones.
   */
  isEmpty(): boolean {
    if (this.count >= 0) return this.count === 0;
    for (const v of this.edits.values()) if (v !== null) return false;
    let skipped = 0;
    for (const k in this.base) {
      if (this.get(k) !== undefined) {
        if (skipped > 1024) this.count = this.keys().length;
        return false;
      }
      skipped++;
    }
    this.count = 0;
    return true;
  }

  /** Every present key: the base's, then edited ones it lacks. */
  keys(): string[] {
    const out: string[] = [];
    for (const k in this.base) if (this.get(k) !== undefined) out.push(k);
    for (const [k, v] of this.edits)
      if (v !== null && !(Object.hasOwn(this.base, k) && this.base[k] != null)) out.push(k);
    return out;
  }
}
