/**
 * Time zones with Java's `TimeZone.getTimeZone` lookup rules, backed by Intl (no dependency):
 * IANA ids, Java's legacy three-letter ids (PST ⇒ America/Los_Angeles, …), `GMT±hh[:mm]`
 * custom ids, and GMT for anything unknown.
 */

/** A resolved zone: offsets in milliseconds (local = utc + offset). */
export interface Zone {
  readonly id: string;
  /** Offset from UTC at the instant `time`. */
  offsetAt(time: number): number;
  /** Standard (non-DST) offset around the instant `time` (Java's raw offset). */
  rawOffsetAt(time: number): number;
}

/** Java's legacy short ids (ZoneInfoFile, `sun.timezone.ids.oldmapping=false`). */
const JAVA_SHORT_IDS: Readonly<Record<string, string>> = {
  ACT: "Australia/Darwin",
  AET: "Australia/Sydney",
  AGT: "America/Argentina/Buenos_Aires",
  ART: "Africa/Cairo",
  AST: "America/Anchorage",
  BET: "America/Sao_Paulo",
  BST: "Asia/Dhaka",
  CAT: "Africa/Harare",
  CNT: "America/St_Johns",
  CST: "America/Chicago",
  CTT: "Asia/Shanghai",
  EAT: "Africa/Addis_Ababa",
  ECT: "Europe/Paris",
  IET: "America/Indiana/Indianapolis",
  IST: "Asia/Kolkata",
  JST: "Asia/Tokyo",
  MIT: "Pacific/Apia",
  NET: "Asia/Yerevan",
  NST: "Pacific/Auckland",
  PLT: "Asia/Karachi",
  PNT: "America/Phoenix",
  PRT: "America/Puerto_Rico",
  PST: "America/Los_Angeles",
  SST: "Pacific/Guadalcanal",
  VST: "Asia/Ho_Chi_Minh",
};

/** Java fixed-offset short ids. */
const JAVA_FIXED_IDS: Readonly<Record<string, number>> = {
  EST: -5 * 3600_000,
  MST: -7 * 3600_000,
  HST: -10 * 3600_000,
};

const HOUR = 3600_000;
const zoneCache = new Map<string, Zone>();

class FixedZone implements Zone {
  readonly id: string;
  private readonly offset: number;
  constructor(id: string, offset: number) {
    this.id = id;
    this.offset = offset;
  }
  offsetAt(): number {
    return this.offset;
  }
  rawOffsetAt(): number {
    return this.offset;
  }
}

class IntlZone implements Zone {
  readonly id: string;
  private readonly format: Intl.DateTimeFormat;
  // Offsets only change on quarter-hour boundaries, so a bucket of 15 minutes has one offset.
  private readonly memo = new Map<number, number>();
  constructor(id: string, format: Intl.DateTimeFormat) {
    this.id = id;
    this.format = format;
  }
  offsetAt(time: number): number {
    const bucket = Math.floor(time / 900_000);
    const hit = this.memo.get(bucket);
    if (hit !== undefined) return hit;
    const base = bucket * 900_000;
    const p: Record<string, number> = {};
    let beforeChrist = false;
    for (const part of this.format.formatToParts(new Date(base))) {
      if (part.type === "era") beforeChrist = part.value.startsWith("B");
      else if (part.type !== "literal") p[part.type] = Number(part.value);
    }
    const year = beforeChrist ? 1 - p.year : p.year;
    const local = utcFromFields(year, p.month - 1, p.day, p.hour === 24 ? 0 : p.hour, p.minute, p.second, 0);
    const offset = local - base;
    if (this.memo.size > 4096) this.memo.clear();
    this.memo.set(bucket, offset);
    return offset;
  }
  rawOffsetAt(time: number): number {
    const year = new Date(time).getUTCFullYear();
    const jan = this.offsetAt(Date.UTC(year, 0, 1));
    const jul = this.offsetAt(Date.UTC(year, 6, 1));
    return Math.min(jan, jul);
  }
}

/** Date.UTC for any year (Date.UTC maps 0..99 to 1900..1999). */
export function utcFromFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

function tryIntl(id: string): Zone | null {
  try {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: id,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    return new IntlZone(id, format);
  } catch {
    return null;
  }
}

function parseCustomId(id: string): number | null {
  // Java custom ids: GMT+h, GMT+hh, GMT+hhmm, GMT+h:mm, GMT+hh:mm
  const m = /^GMT([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(id);
  if (!m) return null;
  const hours = Number(m[2]);
  const minutes = m[3] ? Number(m[3]) : 0;
  if (hours > 23 || minutes > 59) return null;
  return (m[1] === "-" ? -1 : 1) * (hours * HOUR + minutes * 60_000);
}

/**
 * Java `TimeZone.getTimeZone(id)`: an unknown id yields GMT. Results are cached.
 */
export function getZone(id: string | undefined | null): Zone {
  const key = id ?? "GMT";
  const cached = zoneCache.get(key);
  if (cached) return cached;
  let zone: Zone | null = null;
  if (key in JAVA_FIXED_IDS) zone = new FixedZone(key, JAVA_FIXED_IDS[key]);
  else if (key in JAVA_SHORT_IDS) zone = tryIntl(JAVA_SHORT_IDS[key]);
  else if (key === "GMT" || key === "UTC") zone = new FixedZone(key, 0);
  else {
    const custom = parseCustomId(key);
    if (custom !== null) zone = new FixedZone(key, custom);
    // Intl also accepts bare offsets ("+05:30"); Java does not, so only names are tried.
    else if (/^[A-Za-z]/.test(key)) zone = tryIntl(key);
  }
  zone ??= new FixedZone("GMT", 0);
  zoneCache.set(key, zone);
  return zone;
}

/** True when `id` names a real zone (not the GMT fallback of an unknown id). */
export function isKnownZone(id: string): boolean {
  return id === "GMT" || getZone(id).id !== "GMT";
}

/**
 * Wall-clock milliseconds (fields read as if UTC) → instant, the way a lenient
 * GregorianCalendar resolves them: a time in a DST gap is read as standard time.
 */
export function wallToInstant(zone: Zone, local: number): number {
  const raw = zone.rawOffsetAt(local);
  const t1 = local - raw;
  const o1 = zone.offsetAt(t1);
  if (o1 === raw) return t1;
  const t2 = local - o1;
  if (zone.offsetAt(t2) === o1) return t2;
  return t1;
}

/** Instant → wall-clock milliseconds in `zone`. */
export function instantToWall(zone: Zone, time: number): number {
  return time + zone.offsetAt(time);
}
