import type { RangerValidityRecurrence, RangerValiditySchedule } from "../types.ts";
import { parseScheduleDate } from "./dates.ts";
import { FIELD_SPECS, type ScheduleField, type ScheduleOptions } from "./evaluator.ts";
import { getZone, instantToWall, isKnownZone } from "./timezone.ts";

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

/** Java ids that RangerValidityScheduleValidator removes from TimeZone.getAvailableIDs(). */
const REJECTED_ZONE_IDS = new Set([
  "JST",
  "IST",
  "BET",
  "ACT",
  "AET",
  "AGT",
  "VST",
  "SystemV/AST4",
  "CNT",
  "NET",
  "SystemV/MST7",
  "PLT",
  "CST",
  "SST",
  "SystemV/CST6",
  "CTT",
  "PNT",
  "BST",
  "SystemV/YST9",
  "MIT",
  "ART",
  "AST",
  "PRT",
  "SystemV/HST10",
  "PST",
  "SystemV/EST5",
  "IET",
  "SystemV/PST8",
  "SystemV/CST6CDT",
  "NST",
  "EAT",
  "ECT",
  "SystemV/MST7MDT",
  "SystemV/YST9YDT",
  "CAT",
  "SystemV/PST8PDT",
  "SystemV/AST4ADT",
  "SystemV/EST5EDT",
]);

const FIELDS: readonly ScheduleField[] = ["minute", "hour", "dayOfMonth", "dayOfWeek", "month", "year"];
const SPECIAL_CHARS: Record<ScheduleField, string> = {
  minute: ",",
  hour: "*,-",
  dayOfMonth: "*,-",
  dayOfWeek: "*,-",
  month: "*,-",
  year: "*,-",
};
const MAX_DATE = 8_640_000_000_000_000;

const isBlank = (s: string | undefined | null) => s === undefined || s === null || s.trim() === "";
const fieldText = (r: RangerValidityRecurrence, f: ScheduleField): string => {
  const v = r.schedule?.[f] as unknown;
  return v === undefined || v === null ? "" : String(v);
};

/** Java Integer.parseInt on an already character-checked spec; null where Java would throw. */
function parseInt32(s: string): number | null {
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : null;
}

function yearOf(time: number, zoneId: string): number {
  if (time >= MAX_DATE) return 292_278_994; // Java's year of new Date(Long.MAX_VALUE)
  return new Date(instantToWall(getZone(zoneId), time)).getUTCFullYear();
}

/** Port of RangerValidityScheduleValidator (one schedule). */
class ScheduleValidator {
  private readonly schedule: RangerValiditySchedule;
  private readonly failures: ScheduleValidationFailure[];
  private readonly zoneId: string;
  private readonly now: () => number;
  private startTime: number | null = null;
  private endTime: number | null = null;

  constructor(schedule: RangerValiditySchedule, failures: ScheduleValidationFailure[], options?: ScheduleOptions) {
    this.schedule = schedule;
    this.failures = failures;
    this.zoneId = options?.defaultTimeZone ?? "UTC";
    this.now = options?.now ?? Date.now;
  }

  private fail(field: string, reason: string): void {
    this.failures.push({ field, reason });
  }

  validate(): RangerValiditySchedule | null {
    const s = this.schedule;
    const recurrences = s.recurrences ?? [];
    if (!s.startTime && !s.endTime && recurrences.length === 0) {
      this.fail("startTime,endTime,recurrences", "empty values");
      return null;
    }
    if (s.startTime) {
      this.startTime = parseScheduleDate(s.startTime, this.zoneId, true);
      if (this.startTime === null) this.fail("startTime", "invalid value");
    } else {
      this.startTime = this.now();
    }
    if (s.endTime) {
      this.endTime = parseScheduleDate(s.endTime, this.zoneId, true);
      if (this.endTime === null) this.fail("endTime", "invalid value");
    } else {
      this.endTime = MAX_DATE;
    }
    if (this.startTime === null || this.endTime === null) return null;

    const normalized: RangerValiditySchedule = { startTime: s.startTime, endTime: s.endTime, recurrences: [] };
    if (s.timeZone !== undefined) normalized.timeZone = s.timeZone;
    return this.validateTimeRangeSpec(recurrences, normalized) ? normalized : null;
  }

  private validateTimeRangeSpec(recurrences: RangerValidityRecurrence[], normalized: RangerValiditySchedule) {
    let ret = true;
    if ((this.startTime as number) >= (this.endTime as number)) {
      this.fail("startTime", "endTime is not later than startTime");
      ret = false;
    }
    ret = this.validateTimeZone(this.schedule.timeZone) && ret;
    for (const recurrence of recurrences) {
      ret = this.validateValidityInterval(recurrence) && ret;
      if (ret) {
        for (const f of FIELDS) ret = this.validateFieldSpec(recurrence, f) && ret;
        // validateIntervalDuration only warns, but answers false once any failure was recorded.
        ret = ret && this.failures.length === 0;
        if (ret) normalized.recurrences?.push(normalizeRecurrence(recurrence));
      }
    }
    return ret;
  }

  private validateTimeZone(timeZone: string | undefined): boolean {
    const ok = isBlank(timeZone) || (!REJECTED_ZONE_IDS.has(timeZone as string) && isKnownZone(timeZone as string));
    if (!ok) this.fail("timeZone", "invalid timeZone");
    return ok;
  }

  private validateValidityInterval(recurrence: RangerValidityRecurrence): boolean {
    if (!recurrence.interval || !recurrence.schedule) {
      this.fail("recurrence", "empty schedule/interval in recurrence spec");
      return false;
    }
    let ret = true;
    const days = recurrence.interval.days ?? 0;
    const hours = recurrence.interval.hours ?? 0;
    const minutes = recurrence.interval.minutes ?? 0;
    if (
      days < 0 ||
      hours < 0 ||
      hours > 23 ||
      minutes < 0 ||
      minutes > 59 ||
      (days === 0 && hours === 0 && minutes === 0)
    ) {
      this.fail("interval", "invalid interval");
      ret = false;
    }
    if (isBlank(fieldText(recurrence, "dayOfMonth")) && isBlank(fieldText(recurrence, "dayOfWeek"))) {
      this.fail("validitySchedule", "empty dayOfMonth and dayOfWeek");
      ret = false;
    }
    return ret;
  }

  private validateFieldSpec(recurrence: RangerValidityRecurrence, field: ScheduleField): boolean {
    const value = fieldText(recurrence, field);
    if (isBlank(value) && field !== "dayOfWeek" && field !== "dayOfMonth") this.fail(field, "No value provided");

    const spec = FIELD_SPECS[field];
    const shift = field === "month" ? 1 : 0;
    let ret = [...value].every((c) => /\d|\s/.test(c) || SPECIAL_CHARS[field].includes(c));
    if (!ret) {
      this.fail(field, "invalid character(s)");
    } else {
      ret = this.validateRanges(value, field, spec.minimum + shift, spec.maximum + shift);
    }
    if (ret) {
      const [min, max] =
        field === "year"
          ? [yearOf(this.startTime as number, this.zoneId), yearOf(this.endTime as number, this.zoneId)]
          : [spec.minimum + shift, spec.maximum + shift];
      ret = this.validateRanges(value, field, min, max);
    }
    return ret;
  }

  private validateRanges(text: string, field: ScheduleField, minValid: number, maxValid: number): boolean {
    let ret = true;
    const ranges: { lower: number; upper: number }[] = [];
    const specs = text
      .replace(/\s/g, "")
      .split(",")
      .filter((s) => s !== "");
    for (const spec of specs) {
      if (spec.startsWith("-") || spec.endsWith("-")) {
        this.fail(field, `incorrect range spec: ${spec}`);
        ret = false;
        continue;
      }
      const bounds = spec.split("-").filter((s) => s !== "");
      if (bounds.length > 2) {
        this.fail(field, `incorrect range spec: ${spec}`);
        ret = false;
      } else if (bounds.length === 2) {
        const v1 = bounds[0] === "*" ? minValid : parseInt32(bounds[0]);
        const v2 = bounds[1] === "*" ? maxValid : parseInt32(bounds[1]);
        if (v1 === null || v2 === null) {
          this.fail(field, `invalid value: ${spec}`);
          ret = false;
          continue;
        }
        if (field === "year") {
          if (v1 < minValid && v2 > maxValid) {
            this.fail(field, `incorrect range: (${v1}, ${v2}). valid range: (${minValid}, ${maxValid})`);
            ret = false;
          }
        } else {
          if (v1 < minValid || v1 > maxValid) {
            this.fail(field, `incorrect lower range: ${v1}. valid range: (${minValid}, ${maxValid})`);
            ret = false;
          }
          if (v2 < minValid || v2 > maxValid) {
            this.fail(field, `incorrect upper range: ${v2}. valid range: (${minValid}, ${maxValid})`);
            ret = false;
          }
        }
        if (ret) {
          if (v1 >= v2) {
            this.fail(field, `incorrect range: min=${v1}, max=${v2}`);
            ret = false;
          } else if (ranges.some((r) => r.lower === v1 || r.upper === v2)) {
            this.fail(field, "duplicate range");
            ret = false;
          } else {
            ranges.push({ lower: v1, upper: v2 });
          }
        }
      } else if (bounds.length === 1 && bounds[0] !== "*") {
        const v = parseInt32(bounds[0]);
        if (v === null) {
          this.fail(field, `invalid value: ${spec}`);
          ret = false;
        } else if (v < minValid || v > maxValid) {
          this.fail(field, `incorrect value: ${v}. Valid range: (${minValid}-${maxValid})`);
          ret = false;
        }
      }
    }
    ranges.sort((a, b) => a.lower - b.lower || a.upper - b.upper);
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        if (ranges[i].upper > ranges[j].lower) {
          this.fail(field, "overlapping range value");
          ret = false;
        }
      }
    }
    return ret;
  }
}

/** getNormalizedValue: whitespace removed, specs sorted (as strings) and comma-joined. */
function normalizeRecurrence(recurrence: RangerValidityRecurrence): RangerValidityRecurrence {
  const schedule: Record<string, string | undefined> = {};
  for (const f of FIELDS) {
    const specs = fieldText(recurrence, f)
      .replace(/\s/g, "")
      .split(",")
      .filter((s) => s !== "")
      .sort();
    schedule[f] = specs.length ? specs.join(",") : undefined;
  }
  return { schedule, interval: recurrence.interval };
}

/** Validates one schedule, appending to `failures`; returns the normalized schedule or null. */
export function validateSchedule(
  schedule: RangerValiditySchedule,
  failures: ScheduleValidationFailure[],
  options?: ScheduleOptions,
): RangerValiditySchedule | null {
  return new ScheduleValidator(schedule, failures, options).validate();
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
