import type { RangerValiditySchedule } from "../types.ts";
import type { ScheduleOptions } from "./evaluator.ts";

/** One failure, as Ranger's ValidationFailureDetails (field name and reason). */
export interface ScheduleValidationFailure {
  field: string;
  reason: string;
}

/** Validation of a list of schedules; failures accumulate across the list like Ranger's. */
export interface ScheduleValidation {
  isValid: boolean;
  failures: ScheduleValidationFailure[];
  /** The normalized schedules (Ranger's `validate()` return values) when valid. */
  normalized: RangerValiditySchedule[];
}

/** Validates one schedule, appending to `failures`; returns the normalized schedule or null. */
export function validateSchedule(
  schedule: RangerValiditySchedule,
  failures: ScheduleValidationFailure[],
  options?: ScheduleOptions,
): RangerValiditySchedule | null {
  throw new Error(`not implemented ${String(schedule)} ${failures.length} ${String(options)}`);
}

/** Validates a list of schedules (RangerValidityScheduleValidator over each, shared failure list). */
export function validateSchedules(
  schedules: readonly RangerValiditySchedule[],
  options?: ScheduleOptions,
): ScheduleValidation {
  const failures: ScheduleValidationFailure[] = [];
  const normalized: RangerValiditySchedule[] = [];
  let isValid = true;
  for (const s of schedules) {
    const n = validateSchedule(s, failures, options);
    isValid = isValid && n !== null;
    if (isValid && n) normalized.push(n);
  }
  return { isValid, failures, normalized };
}
