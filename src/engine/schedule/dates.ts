import { daysInMonth } from "./calendar.ts";
import { getZone, instantToWall, utcFromFields, wallToInstant } from "./timezone.ts";

const SCHEDULE_DATE = /^(\d+)\/(\d+)\/(\d+) (\d+):(\d+):(\d+)/;

/**
 * Parses `yyyy/MM/dd HH:mm:ss` (RangerValiditySchedule's format) as wall time in `timeZone`,
 * like SimpleDateFormat#parse(String): trailing text is ignored; lenient (the evaluator's
 * formatter) rolls out-of-range fields over, strict (the validator's) rejects them.
 * Returns epoch ms, or null when the text does not parse.
 */
export function parseScheduleDate(text: string, timeZone: string, strict = false): number | null {
  const m = SCHEDULE_DATE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (strict) {
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month - 1)) return null;
    if (hour > 23 || minute > 59 || second > 59) return null;
  }
  const zone = getZone(timeZone);
  return wallToInstant(zone, utcFromFields(year, month - 1, day, hour, minute, second, 0));
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Formats epoch ms as `yyyy/MM/dd HH:mm:ss` in `timeZone`. */
export function formatScheduleDate(time: number, timeZone: string): string {
  const d = new Date(instantToWall(getZone(timeZone), time));
  return (
    `${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}
