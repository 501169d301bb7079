import { Cron } from "croner";

const INTERVAL = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A parsed sync schedule: a fixed interval after the last run, or a cron expression (UTC). */
export type SyncSchedule = { kind: "interval"; ms: number } | { kind: "cron"; cron: Cron };

/**
 * Parses `5m`, `1h`, `30s`, `1d` as intervals and anything else as a cron expression (croner:
 * five or six fields, `@hourly` and friends); null for text that is neither.
 */
export function parseSchedule(text: string): SyncSchedule | null {
  const interval = INTERVAL.exec(text.trim());
  if (interval) {
    const ms = Number(interval[1]) * (UNIT_MS[interval[2] as string] as number);
    return ms >= 1_000 ? { kind: "interval", ms } : null;
  }
  try {
    return { kind: "cron", cron: new Cron(text.trim(), { paused: true, timezone: "UTC" }) };
  } catch {
    return null;
  }
}

/** When a source is due next: an interval after the last run started, or the next cron time after it. */
export function nextRunAt(schedule: SyncSchedule, lastStartedAt: Date | null, now: Date): Date {
  if (!lastStartedAt) return now;
  if (schedule.kind === "interval") return new Date(lastStartedAt.getTime() + schedule.ms);
  return schedule.cron.nextRun(lastStartedAt) ?? new Date(8.64e15);
}
