/**
 * One of 64 bits for every user and group name the engine's policies name, so a policy evaluator can
 * tell with two ANDs against a request's bits that none of its items can apply to the request's user
 * and groups, without reading its name sets. On a large engine those sets are cold objects apart from
 * the evaluator: a candidate list of a hundred policies (a schema's `_any`, Trino's SHOW SCHEMAS)
 * otherwise costs two or three cache misses per policy that cannot apply.
 *
 * A necessary condition only: one name always has the same bit, so a shared name means a shared bit;
 * distinct names may share one too, and then the evaluator checks its sets as before. Bits are given
 * out in turn, so names spread evenly. Names are never taken back (a removed policy leaves its names'
 * bits assigned, which is harmless); the registry grows with the distinct names policies use.
 */
export class PrincipalBits {
  private readonly users = new Map<string, number>();
  private readonly groups = new Map<string, number>();
  private next = 0;

  /** Bit of a user name a policy item names (assigned on first use). */
  userBit(name: string): number {
    return this.assign(this.users, name);
  }

  /** Bit of a group name a policy item names (assigned on first use). */
  groupBit(name: string): number {
    return this.assign(this.groups, name);
  }

  /**
   * Sets a request's mask: the bits of its user and groups that some policy names. Names no policy
   * names have no bit, and need none: no policy can match on them.
   */
  fill(state: {
    readonly user: string | undefined;
    readonly groups: readonly string[];
    principalMaskReady: boolean;
    principalMaskLo: number;
    principalMaskHi: number;
  }): void {
    let lo = 0;
    let hi = 0;
    const user = state.user;
    if (user !== undefined) {
      const bit = this.users.get(user);
      if (bit !== undefined) {
        if (bit < 32) lo |= 1 << bit;
        else hi |= 1 << (bit - 32);
      }
    }
    const groups = state.groups;
    for (let i = 0; i < groups.length; i++) {
      const bit = this.groups.get(groups[i]);
      if (bit === undefined) continue;
      if (bit < 32) lo |= 1 << bit;
      else hi |= 1 << (bit - 32);
    }
    state.principalMaskLo = lo;
    state.principalMaskHi = hi;
    state.principalMaskReady = true;
  }

  private assign(map: Map<string, number>, name: string): number {
    let bit = map.get(name);
    if (bit === undefined) {
      bit = this.next;
      this.next = (this.next + 1) & 63;
      map.set(name, bit);
    }
    return bit;
  }
}

/** The part of a bit (0-63) in the low or high 32-bit word. */
export function wordOf(bit: number | undefined, high: boolean): number {
  if (bit === undefined) return 0;
  if (high) return bit >= 32 ? 1 << (bit - 32) : 0;
  return bit < 32 ? 1 << bit : 0;
}
