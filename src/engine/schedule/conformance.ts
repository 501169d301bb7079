import type { RangerValiditySchedule } from "../types.ts";
import type { ScheduleOptions } from "./evaluator.ts";

/** One case of Ranger's validity-scheduler test files (`policyengine/validityscheduler/*.json`). */
export interface ValiditySchedulerCase {
  name: string;
  validitySchedules: RangerValiditySchedule[];
  /** Gson format `yyyyMMdd-HH:mm:ss.SSSZ`, e.g. "20180113-14:32:27.000-0800". */
  accessTime: string;
  result: { isValid: boolean; isApplicable: boolean; validationFailureCount: number };
}

/** What the harness compares. */
export interface ValiditySchedulerOutcome {
  isValid: boolean;
  isApplicable: boolean;
  validationFailureCount: number;
}

/** Per-case verdict. */
export interface ValiditySchedulerCaseResult {
  name: string;
  passed: boolean;
  expected: ValiditySchedulerOutcome;
  got: ValiditySchedulerOutcome;
}

/**
 * Runs validity-scheduler cases as Ranger's TestPolicyEngine#runValiditySchedulerTests does:
 * validate every schedule (shared failure list); only if all are valid, applicable when any
 * validated schedule is. `options.defaultTimeZone` defaults to "PST" like the Java harness.
 */
export function runValiditySchedulerCases(
  cases: readonly ValiditySchedulerCase[],
  options?: ScheduleOptions,
): ValiditySchedulerCaseResult[] {
  throw new Error(`not implemented ${cases.length} ${String(options)}`);
}
