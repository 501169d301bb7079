/**
 * Parses `yyyy/MM/dd HH:mm:ss` as wall time in `timeZone` (SimpleDateFormat: lenient by default,
 * so out-of-range fields roll over; strict rejects them). Returns epoch ms or null.
 */
export function parseScheduleDate(text: string, timeZone: string, strict = false): number | null {
  throw new Error(`not implemented ${text} ${timeZone} ${strict}`);
}

/** Formats epoch ms as `yyyy/MM/dd HH:mm:ss` in `timeZone`. */
export function formatScheduleDate(time: number, timeZone: string): string {
  throw new Error(`not implemented ${time} ${timeZone}`);
}
