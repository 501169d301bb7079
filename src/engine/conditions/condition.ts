import type { RequestState } from "../policy/request-state.ts";

/** A compiled policy or item condition: a pure predicate over one request. */
export interface Condition {
  readonly type: string;
  isMatched(state: RequestState): boolean;
}

/** True when every condition matches (Ranger ANDs all conditions of a policy or item). */
export function allConditionsMatch(conditions: readonly Condition[], state: RequestState): boolean {
  for (let i = 0; i < conditions.length; i++) if (!conditions[i].isMatched(state)) return false;
  return true;
}
