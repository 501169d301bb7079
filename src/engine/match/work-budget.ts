/**
 * A per-request budget of matching work. A request resource may carry a collection of values
 * (`catalog: ["a", "b", …]`); matching costs its length times the values each candidate policy must
 * try one by one (an element matcher's `costPerValue`), summed over every candidate policy. That
 * product is what a caller controls, so it is what the budget bounds: the engine charges it before
 * doing the work and throws `WorkBudgetExceeded` when the request would go over, so a decision
 * fails (never allows) instead of holding the thread. Requests without a budget are unbounded
 * (Ranger's behaviour); the decision API gives every request one.
 */

/** What is left of one request's budget, in units of one policy value tried against one request value. */
export interface WorkBudget {
  /** the request's whole budget, for the error message */
  readonly limit: number;
  /** units still available; goes down as matching is charged */
  left: number;
}

/** A fresh budget of `limit` units. */
export function workBudget(limit: number): WorkBudget {
  return { limit, left: limit };
}

/** Thrown by the engine when a request's matching would exceed its budget; nothing was decided. */
export class WorkBudgetExceeded extends Error {
  /** the resource element whose values went over (e.g. `catalog`) */
  readonly resourceName: string;
  readonly limit: number;
  constructor(resourceName: string, limit: number) {
    super(`matching the values of \`${resourceName}\` needs more than the request's budget of ${limit} units`);
    this.name = "WorkBudgetExceeded";
    this.resourceName = resourceName;
    this.limit = limit;
  }
}

/** Charges `units` of work to `budget`; throws WorkBudgetExceeded, without charging, when they do not fit. */
export function spendWork(budget: WorkBudget, units: number, resourceName: string): void {
  if (units > budget.left) throw new WorkBudgetExceeded(resourceName, budget.limit);
  budget.left -= units;
}
