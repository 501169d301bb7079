import type { RangerValidityRecurrence, RangerValiditySchedule } from "../types.ts";
import { JavaCalendar } from "./calendar.ts";
import { parseScheduleDate } from "./dates.ts";
import { getZone, type Zone } from "./timezone.ts";

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

/** Field bounds of RangerValidityRecurrence.RecurrenceSchedule.ScheduleFieldSpec (month 0-based). */
export const FIELD_SPECS = {
  minute: { minimum: 0, maximum: 59 },
  hour: { minimum: 0, maximum: 23 },
  dayOfMonth: { minimum: 1, maximum: 31 },
  dayOfWeek: { minimum: 1, maximum: 7 },
  month: { minimum: 0, maximum: 11 },
  year: { minimum: 2017, maximum: 2100 },
} as const;

export type ScheduleField = keyof typeof FIELD_SPECS;
type FieldSpec = (typeof FIELD_SPECS)[ScheduleField];

/** A matcher over one field: exact value, inclusive range or always. */
type TimeMatcher = (value: number) => boolean;

interface ValueWithBorrow {
  value: number;
  borrow: boolean;
}

/** Java `TimeZone.getOffset` difference used by RangerValidityScheduleEvaluator#getAdjustedTime. */
function adjustedTime(localTime: number, defaultZone: Zone, target: Zone): number {
  if (defaultZone.id === target.id) return localTime;
  return localTime + defaultZone.offsetAt(localTime) - target.offsetAt(localTime);
}

function intervalMinutes(r: RangerValidityRecurrence): number {
  const i = r.interval;
  return i ? ((i.days ?? 0) * 24 + (i.hours ?? 0)) * 60 + (i.minutes ?? 0) : 0;
}

function fieldValue(r: RangerValidityRecurrence, field: ScheduleField): string {
  const v = r.schedule?.[field] as unknown;
  return v === undefined || v === null ? "" : String(v);
}

/**
 * RangerValidityScheduleEvaluator.RangerRecurrenceEvaluator#addScheduledTime. Specs are trimmed
 * (Ranger relies on the validator having removed whitespace; raw policies are tolerated here).
 */
function buildMatchers(text: string, field: ScheduleField): TimeMatcher[] {
  const list: TimeMatcher[] = [];
  if (text.trim() === "") return list;
  const shift = field === "month" ? 1 : 0;
  for (const rawSpec of text.split(",")) {
    const range = rawSpec.split("-").map((s) => s.trim());
    if (range.length === 1) {
      if (range[0] === "*") return [() => true];
      const v = Number.parseInt(range[0], 10) - shift;
      list.push((x) => x === v);
    } else {
      if (range[0] === "*" || range[1] === "*") return [() => true];
      const lo = Number.parseInt(range[0], 10) - shift;
      const hi = Number.parseInt(range[1], 10) - shift;
      list.push((x) => x >= lo && x <= hi);
    }
  }
  return list;
}

/** getPastFieldValueWithBorrow: null where Ranger throws ("No match found in field"). */
function pastValue(spec: FieldSpec, list: TimeMatcher[], input: ValueWithBorrow, maximum: number = spec.maximum) {
  let borrow = false;
  let value = input.value - (input.borrow ? 1 : 0);
  if (list.length === 0) {
    if (value < spec.minimum) value = maximum;
    return { value, borrow: false };
  }
  const range = spec.maximum - spec.minimum + 1;
  for (let i = 0; i < range; i++, value--) {
    if (value < spec.minimum) {
      value = maximum;
      borrow = true;
    }
    for (const m of list) if (m(value)) return { value, borrow };
  }
  return null;
}

class NoMatch extends Error {}

function must(v: ValueWithBorrow | null): ValueWithBorrow {
  if (!v) throw new NoMatch();
  return v;
}

/** Port of RangerValidityScheduleEvaluator.RangerRecurrenceEvaluator. */
class RecurrenceEvaluator {
  private readonly minutes: TimeMatcher[];
  private readonly hours: TimeMatcher[];
  private readonly daysOfMonth: TimeMatcher[];
  private readonly daysOfWeek: TimeMatcher[];
  private readonly months: TimeMatcher[];
  private readonly years: TimeMatcher[];
  private readonly interval: { days: number; hours: number; minutes: number };
  private readonly intervalInMinutes: number;
  private readonly hasDayOfMonth: boolean;
  private readonly hasDayOfWeek: boolean;

  constructor(recurrence: RangerValidityRecurrence) {
    this.intervalInMinutes = intervalMinutes(recurrence);
    const i = recurrence.interval ?? {};
    this.interval = { days: i.days ?? 0, hours: i.hours ?? 0, minutes: i.minutes ?? 0 };
    const on = this.intervalInMinutes > 0;
    const build = (f: ScheduleField) => (on ? buildMatchers(fieldValue(recurrence, f), f) : []);
    this.minutes = build("minute");
    this.hours = build("hour");
    this.daysOfMonth = build("dayOfMonth");
    this.daysOfWeek = build("dayOfWeek");
    this.months = build("month");
    this.years = build("year");
    this.hasDayOfMonth = fieldValue(recurrence, "dayOfMonth").trim() !== "";
    this.hasDayOfWeek = fieldValue(recurrence, "dayOfWeek").trim() !== "";
  }

  isApplicable(now: JavaCalendar): boolean {
    if (this.intervalInMinutes <= 0) return true;
    const start = this.closestPastEpoch(now);
    if (!start) return false;
    const end = start.addMinutes(this.interval.minutes).addHours(this.interval.hours).addDays(this.interval.days);
    return start.time <= now.time && end.time >= now.time;
  }

  private closestPastEpoch(current: JavaCalendar): JavaCalendar | null {
    try {
      const f = current.fields;
      const minute = must(pastValue(FIELD_SPECS.minute, this.minutes, { value: f.minute, borrow: false }));
      const hour = must(pastValue(FIELD_SPECS.hour, this.hours, { value: f.hour, borrow: minute.borrow }));
      const byDayOfMonth = this.closestDayOfMonth(current, minute, hour);
      const byDayOfWeek = this.closestDayOfWeek(current, minute, hour);
      return this.laterCalendar(byDayOfMonth, byDayOfWeek);
    } catch (e) {
      if (e instanceof NoMatch) return null;
      throw e;
    }
  }

  private closestDayOfMonth(current: JavaCalendar, minute: ValueWithBorrow, hour: ValueWithBorrow) {
    if (!this.hasDayOfMonth) return null;
    const f = current.fields;
    let initialDayOfMonth = f.day;
    let currentDayOfMonth = initialDayOfMonth;
    let currentMonth = f.month;
    let currentYear = f.year;
    let maximumDaysInPreviousMonth = current.addMonths(-1).actualMaximumDayOfMonth();

    if (hour.borrow) {
      initialDayOfMonth--;
      const calc = current.addDays(-1);
      const previousDayOfMonth = calc.fields.day;
      if (initialDayOfMonth < previousDayOfMonth) {
        currentDayOfMonth = previousDayOfMonth;
        currentMonth = calc.fields.month;
        currentYear = calc.fields.year;
        maximumDaysInPreviousMonth = calc.addMonths(-1).actualMaximumDayOfMonth();
      } else if (initialDayOfMonth !== previousDayOfMonth) {
        throw new NoMatch();
      }
      // Ranger keeps currentDayOfMonth unchanged when no month borrow happens.
    }

    let found: ValueWithBorrow | null = null;
    for (let guard = 0; found === null; guard++) {
      if (guard > 1200) throw new NoMatch();
      found = pastValue(
        FIELD_SPECS.dayOfMonth,
        this.daysOfMonth,
        { value: currentDayOfMonth, borrow: false },
        maximumDaysInPreviousMonth,
      );
      if (found === null) {
        const c = current.with({ year: currentYear, month: currentMonth, day: currentDayOfMonth }).addMonths(-1);
        currentMonth = c.fields.month;
        currentYear = c.fields.year;
        currentDayOfMonth = c.fields.day;
        maximumDaysInPreviousMonth = c.addMonths(-1).actualMaximumDayOfMonth();
      }
    }

    return JavaCalendar.fromFields(current.zone, {
      year: currentYear,
      month: found.borrow ? currentMonth - 1 : currentMonth,
      day: found.value,
      hour: hour.value,
      minute: minute.value,
      second: 0,
      millisecond: 0,
    });
  }

  private closestDayOfWeek(current: JavaCalendar, minute: ValueWithBorrow, hour: ValueWithBorrow) {
    if (!this.hasDayOfWeek) return null;
    const input = { value: current.dayOfWeek, borrow: hour.borrow };
    const dow = must(pastValue(FIELD_SPECS.dayOfWeek, this.daysOfWeek, input));
    let daysToGoBack = hour.borrow ? 1 : 0;
    const range = FIELD_SPECS.dayOfWeek.maximum - FIELD_SPECS.dayOfWeek.minimum + 1;
    if (dow.borrow) {
      if (input.value - dow.value !== daysToGoBack) daysToGoBack = range + input.value - dow.value;
    } else {
      daysToGoBack = input.value - dow.value;
    }
    return current
      .with({ minute: minute.value, hour: hour.value })
      .addDays(-daysToGoBack)
      .with({ second: 0, millisecond: 0 });
  }

  /** getEarlierCalendar: despite its name Ranger keeps the later of the two candidates. */
  private laterCalendar(byDayOfMonth: JavaCalendar | null, byDayOfWeek: JavaCalendar | null) {
    const a = byDayOfMonth && this.fillOut(byDayOfMonth);
    const b = byDayOfWeek && this.fillOut(byDayOfWeek);
    if (a && b) return a.time > b.time ? a : b;
    return a ?? b;
  }

  private fillOut(cal: JavaCalendar): JavaCalendar {
    const month = must(pastValue(FIELD_SPECS.month, this.months, { value: cal.fields.month, borrow: false }));
    const year = must(pastValue(FIELD_SPECS.year, this.years, { value: cal.fields.year, borrow: month.borrow }));
    return cal.with({ year: year.value, month: month.value, second: 0 });
  }
}

/** Compiles one schedule (no validation: Ranger's evaluator tolerates what the validator rejects). */
export function compileSchedule(schedule: RangerValiditySchedule, options?: ScheduleOptions): CompiledSchedule {
  const defaultZone = getZone(options?.defaultTimeZone ?? "UTC");
  const target = getZone(schedule.timeZone?.trim() ? schedule.timeZone : "GMT");
  const parse = (s: string | undefined) => {
    if (!s) return 0;
    const t = parseScheduleDate(s, defaultZone.id);
    return t === null || t === 0 ? 0 : adjustedTime(t, defaultZone, target);
  };
  const start = parse(schedule.startTime);
  const end = parse(schedule.endTime);
  const recurrences = (schedule.recurrences ?? []).map((r) => new RecurrenceEvaluator(r));

  const isApplicable = (accessTime: number): boolean => {
    if ((start !== 0 && accessTime < start) || (end !== 0 && accessTime > end)) return false;
    if (recurrences.length === 0) return true;
    const now = new JavaCalendar(defaultZone, accessTime);
    for (const r of recurrences) if (r.isApplicable(now)) return true;
    return false;
  };
  return { schedule, isApplicable };
}

/** Compiles a list of schedules. */
export function compileSchedules(
  schedules: readonly RangerValiditySchedule[] | undefined,
  options?: ScheduleOptions,
): CompiledSchedules {
  return { schedules: (schedules ?? []).map((s) => compileSchedule(s, options)) };
}

/** True when the access time (epoch ms) falls inside the schedule (any of the list; empty list ⇒ true). */
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
