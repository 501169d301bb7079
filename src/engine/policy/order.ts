import type { PolicyEvaluator } from "./policy-evaluator.ts";

/** Ranger's NAME_COMPARATOR: priority desc, deny-bearing first, then name. */
export function compareByName(a: PolicyEvaluator, b: PolicyEvaluator): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.hasDeny !== b.hasDeny) return a.hasDeny ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

/** Ranger's `MatchTypeComparator` rank: SELF, SELF_AND_ALL_DESCENDANTS, ANCESTOR, DESCENDANT, NONE. */
export const MATCH_TYPE_RANK: Readonly<Record<string, number>> = {
  SELF: 0,
  SELF_AND_ALL_DESCENDANTS: 1,
  ANCESTOR: 2,
  DESCENDANT: 3,
  NONE: 4,
};
