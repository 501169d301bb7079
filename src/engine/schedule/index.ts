/**
 * Validity schedules with Apache Ranger's exact semantics (RangerValidityScheduleEvaluator,
 * RangerValidityScheduleValidator): `startTime`/`endTime` as `yyyy/MM/dd HH:mm:ss` wall time in
 * `timeZone` (default GMT), and cron-like recurrences evaluated in the engine's default zone
 * (Ranger: the JVM default zone). Time zones come from Intl; no dependency.
 *
 * ```ts
 * const compiled = compileSchedules(policy.validitySchedules, { defaultTimeZone: "UTC" }); // on load
 * if (!isScheduleApplicable(compiled, request.accessTime)) skip(policy);                 // per request
 * ```
 */

export { formatScheduleDate, parseScheduleDate } from "./dates.ts";
export type { CompiledSchedule, CompiledSchedules, ScheduleOptions } from "./evaluator.ts";
export {
  compileSchedule,
  compileSchedules,
  isApplicable,
  isScheduleApplicable,
} from "./evaluator.ts";
export type { ScheduleValidation, ScheduleValidationFailure } from "./validator.ts";
export { validateSchedule, validateSchedules } from "./validator.ts";
