import type { RangerValiditySchedule } from "../types.ts";
import { compileSchedule, type ScheduleOptions } from "./evaluator.ts";
import { validateSchedules } from "./validator.ts";

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

/** Parses Gson's `yyyyMMdd-HH:mm:ss.SSSZ` (e.g. "20180113-14:32:27.000-0800") to epoch ms. */
export function parseGsonDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-])(\d{2})(\d{2})$/.exec(text.trim());
  if (!m) throw new Error(`unparseable access time \`${text}\``);
  const [year, month, day, hour, minute, second, ms] = m.slice(1, 8).map(Number);
  const offset = (m[8] === "-" ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset;
}

/**
 * Runs validity-scheduler cases as Ranger's TestPolicyEngine#runValiditySchedulerTests does:
 * validate every schedule (shared failure list); only if all are valid, applicable when any
 * validated (normalized) schedule is. `options.defaultTimeZone` defaults to "PST" like the
 * Java harness, which sets the JVM default zone to PST for these files.
 */
export function runValiditySchedulerCases(
  cases: readonly ValiditySchedulerCase[],
  options?: ScheduleOptions,
): ValiditySchedulerCaseResult[] {
  const opts: ScheduleOptions = { ...options, defaultTimeZone: options?.defaultTimeZone ?? "PST" };
  return cases.map((c) => {
    const validation = validateSchedules(c.validitySchedules ?? [], opts);
    let isApplicable = false;
    if (validation.isValid) {
      const accessTime = parseGsonDate(c.accessTime);
      isApplicable = validation.normalized.some((s) => compileSchedule(s, opts).isApplicable(accessTime));
    }
    const got = { isValid: validation.isValid, isApplicable, validationFailureCount: validation.failures.length };
    const expected = {
      isValid: c.result.isValid,
      isApplicable: c.result.isApplicable,
      validationFailureCount: c.result.validationFailureCount,
    };
    const passed =
      got.isValid === expected.isValid &&
      got.isApplicable === expected.isApplicable &&
      got.validationFailureCount === expected.validationFailureCount;
    return { name: c.name, passed, expected, got };
  });
}
