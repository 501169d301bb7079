import type { RangerValiditySchedule } from "../types.ts";

/** Options shared by evaluation and validation. */
export interface ScheduleOptions {
  /**
   * The zone that plays Ranger's JVM default zone: schedule times are parsed in it before being
   * shifted to the schedule's `timeZone`, and recurrences are evaluated in it. Java short ids
   * such as "PST" are accepted. Default "UTC". Ranger's own tests run with "PST".
   */
  defaultTimeZone?: string;
  /** Clock for "now" (validation of an empty startTime); default Date.now. */
  now?: () => number;
}

/** One schedule, parsed once. */
export interface CompiledSchedule {
  readonly schedule: RangerValiditySchedule;
  /** @internal */
  readonly isApplicable: (accessTime: number) => boolean;
}

/** A policy's (or tag's) list of schedules: applicable when any one is. Empty ⇒ always applicable. */
export interface CompiledSchedules {
  readonly schedules: readonly CompiledSchedule[];
}

/** Compiles one schedule (no validation: Ranger's evaluator tolerates what the validator rejects). */
export function compileSchedule(schedule: RangerValiditySchedule, options?: ScheduleOptions): CompiledSchedule {
  throw new Error(`not implemented ${String(schedule)} ${String(options)}`);
}

/** Compiles a list of schedules. */
export function compileSchedules(
  schedules: readonly RangerValiditySchedule[] | undefined,
  options?: ScheduleOptions,
): CompiledSchedules {
  return { schedules: (schedules ?? []).map((s) => compileSchedule(s, options)) };
}

/** True when the access time (epoch ms) falls inside the schedule. */
export function isScheduleApplicable(compiled: CompiledSchedule | CompiledSchedules, accessTime: number): boolean {
  if ("schedules" in compiled) {
    if (compiled.schedules.length === 0) return true;
    for (const s of compiled.schedules) if (s.isApplicable(accessTime)) return true;
    return false;
  }
  return compiled.isApplicable(accessTime);
}

/** One-shot convenience: compiles and evaluates (prefer compiling once on the hot path). */
export function isApplicable(
  schedules: readonly RangerValiditySchedule[] | undefined,
  accessTime: number,
  options?: ScheduleOptions,
): boolean {
  return isScheduleApplicable(compileSchedules(schedules, options), accessTime);
}
