import { getZone, instantToWall, utcFromFields, wallToInstant, type Zone } from "./timezone.ts";

/** Calendar fields; `month` is 0-based like java.util.Calendar. */
export interface CalendarFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** Days in a month (0-based month; any year). */
export function daysInMonth(year: number, month: number): number {
  return new Date(utcFromFields(year, month + 1, 0, 0, 0, 0, 0)).getUTCDate();
}

/**
 * The few java.util.GregorianCalendar operations Ranger's schedule code uses, immutable:
 * lenient field setting (out-of-range values roll over), `add` of minutes/hours in elapsed
 * time, `add` of days/months in wall-clock time (months pin the day to the month's length).
 */
export class JavaCalendar {
  readonly zone: Zone;
  readonly time: number;
  private cached: CalendarFields | undefined;

  constructor(zone: Zone, time: number) {
    this.zone = zone;
    this.time = time;
  }

  /** A calendar at epoch ms `time` in the zone named `zoneId` (Java lookup rules). */
  static at(zoneId: string, time: number): JavaCalendar {
    return new JavaCalendar(getZone(zoneId), time);
  }

  /** Lenient construction from fields (GregorianCalendar.set(...) + getTime()). */
  static fromFields(zone: Zone, f: CalendarFields): JavaCalendar {
    const local = utcFromFields(f.year, f.month, f.day, f.hour, f.minute, f.second, f.millisecond);
    return new JavaCalendar(zone, wallToInstant(zone, local));
  }

  get fields(): CalendarFields {
    if (!this.cached) {
      const d = new Date(instantToWall(this.zone, this.time));
      this.cached = {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth(),
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
        millisecond: d.getUTCMilliseconds(),
      };
    }
    return this.cached;
  }

  /** Calendar.DAY_OF_WEEK: 1 = Sunday … 7 = Saturday. */
  get dayOfWeek(): number {
    return new Date(instantToWall(this.zone, this.time)).getUTCDay() + 1;
  }

  /** `set` of some fields then `getTime()` (lenient). */
  with(changes: Partial<CalendarFields>): JavaCalendar {
    return JavaCalendar.fromFields(this.zone, { ...this.fields, ...changes });
  }

  addMinutes(n: number): JavaCalendar {
    return n === 0 ? this : new JavaCalendar(this.zone, this.time + n * 60_000);
  }

  addHours(n: number): JavaCalendar {
    return n === 0 ? this : new JavaCalendar(this.zone, this.time + n * 3_600_000);
  }

  addDays(n: number): JavaCalendar {
    return n === 0 ? this : this.with({ day: this.fields.day + n });
  }

  addMonths(n: number): JavaCalendar {
    if (n === 0) return this;
    const f = this.fields;
    const total = f.year * 12 + f.month + n;
    const year = Math.floor(total / 12);
    const month = total - year * 12;
    return this.with({ year, month, day: Math.min(f.day, daysInMonth(year, month)) });
  }

  /** getActualMaximum(DAY_OF_MONTH). */
  actualMaximumDayOfMonth(): number {
    return daysInMonth(this.fields.year, this.fields.month);
  }
}
