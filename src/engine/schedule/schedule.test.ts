import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runValiditySchedulerCases, type ValiditySchedulerCase } from "./conformance.ts";
import {
  compileSchedules,
  formatScheduleDate,
  isApplicable,
  isScheduleApplicable,
  parseScheduleDate,
  validateSchedules,
} from "./index.ts";
import { getZone } from "./timezone.ts";

const CORPUS = join(import.meta.dirname, "../../../../shared/conformance/ranger/policyengine/validityscheduler");

describe("validity-scheduler conformance (Ranger's own files)", () => {
  for (const file of readdirSync(CORPUS).filter((f) => f.endsWith(".json"))) {
    const cases = JSON.parse(readFileSync(join(CORPUS, file), "utf8")) as ValiditySchedulerCase[];
    describe(file, () => {
      for (const r of runValiditySchedulerCases(cases)) {
        it(r.name, () => expect(r.got).toEqual(r.expected));
      }
    });
  }
});

const utc = (s: string) => Date.parse(`${s}Z`);

describe("schedule dates", () => {
  it("parses yyyy/MM/dd HH:mm:ss as wall time in the zone", () => {
    expect(parseScheduleDate("2018/01/12 14:32:00", "UTC")).toBe(utc("2018-01-12T14:32:00"));
    expect(parseScheduleDate("2018/01/12 14:32:00", "PST")).toBe(utc("2018-01-12T22:32:00"));
    expect(parseScheduleDate("2018/07/12 14:32:00", "America/Los_Angeles")).toBe(utc("2018-07-12T21:32:00"));
    expect(parseScheduleDate("2018/01/12 14:32:00", "Asia/Kolkata")).toBe(utc("2018-01-12T09:02:00"));
  });
  it("is lenient unless strict, like SimpleDateFormat", () => {
    expect(parseScheduleDate("2018/02/30 00:00:00", "UTC")).toBe(utc("2018-03-02T00:00:00"));
    expect(parseScheduleDate("2018/02/30 00:00:00", "UTC", true)).toBeNull();
    expect(parseScheduleDate("2018/02/28 24:00:00", "UTC", true)).toBeNull();
    expect(parseScheduleDate("2018/02/28", "UTC")).toBeNull();
  });
  it("formats in a zone", () => {
    expect(formatScheduleDate(utc("2018-01-12T22:32:05"), "PST")).toBe("2018/01/12 14:32:05");
  });
  it("resolves Java zone ids: short ids, custom offsets, unknown ⇒ GMT", () => {
    expect(getZone("PST").id).toBe("America/Los_Angeles");
    expect(getZone("GMT+05:30").offsetAt(0)).toBe(5.5 * 3600_000);
    expect(getZone("Not/AZone").id).toBe("GMT");
    expect(getZone("EST").offsetAt(utc("2018-07-01T00:00:00"))).toBe(-5 * 3600_000);
  });
});

describe("isApplicable", () => {
  const opts = { defaultTimeZone: "UTC" };
  it("an empty list is always applicable", () => {
    expect(isApplicable([], 0, opts)).toBe(true);
    expect(isApplicable(undefined, 0, opts)).toBe(true);
  });
  it("start and end are inclusive and read in the schedule's zone (default GMT)", () => {
    const s = [{ startTime: "2020/01/01 00:00:00", endTime: "2020/01/02 00:00:00" }];
    expect(isApplicable(s, utc("2020-01-01T00:00:00"), opts)).toBe(true);
    expect(isApplicable(s, utc("2020-01-02T00:00:00"), opts)).toBe(true);
    expect(isApplicable(s, utc("2020-01-02T00:00:01"), opts)).toBe(false);
    const ist = [{ ...s[0], timeZone: "Asia/Kolkata" }];
    expect(isApplicable(ist, utc("2019-12-31T18:30:00"), opts)).toBe(true);
    expect(isApplicable(ist, utc("2019-12-31T18:29:59"), opts)).toBe(false);
  });
  it("any schedule of the list may apply", () => {
    const compiled = compileSchedules(
      [
        { startTime: "2020/01/01 00:00:00", endTime: "2020/01/02 00:00:00" },
        { startTime: "2021/01/01 00:00:00", endTime: "2021/01/02 00:00:00" },
      ],
      opts,
    );
    expect(isScheduleApplicable(compiled, utc("2021-01-01T12:00:00"))).toBe(true);
    expect(isScheduleApplicable(compiled, utc("2020-06-01T12:00:00"))).toBe(false);
  });
  it("recurrences: weekday mornings for 2 hours, evaluated in the default zone", () => {
    const s = [
      {
        startTime: "2024/01/01 00:00:00",
        endTime: "2025/01/01 00:00:00",
        recurrences: [
          {
            schedule: { minute: "0", hour: "9", dayOfMonth: "", dayOfWeek: "2-6", month: "*", year: "2024" },
            interval: { hours: 2 },
          },
        ],
      },
    ];
    expect(isApplicable(s, utc("2024-03-05T10:30:00"), opts)).toBe(true); // Tuesday
    expect(isApplicable(s, utc("2024-03-05T11:00:00"), opts)).toBe(true); // end inclusive
    expect(isApplicable(s, utc("2024-03-05T11:01:00"), opts)).toBe(false);
    expect(isApplicable(s, utc("2024-03-09T10:30:00"), opts)).toBe(false); // Saturday
    expect(isApplicable(s, utc("2024-03-05T10:30:00"), { defaultTimeZone: "Asia/Tokyo" })).toBe(false);
  });
});

describe("validateSchedules", () => {
  it("accepts a valid schedule and normalizes its recurrence fields", () => {
    const v = validateSchedules([
      {
        startTime: "2018/01/12 14:32:00",
        endTime: "2020/01/12 14:32:00",
        recurrences: [
          {
            schedule: { minute: "30, 0", hour: "*", dayOfMonth: "*", dayOfWeek: "5, 7", month: "*", year: "2018" },
            interval: { minutes: 10 },
          },
        ],
      },
    ]);
    expect(v.isValid).toBe(true);
    expect(v.failures).toEqual([]);
    expect(v.normalized[0].recurrences?.[0].schedule).toMatchObject({ minute: "0,30", dayOfWeek: "5,7" });
  });
  it("reports each failure with its field", () => {
    const v = validateSchedules([
      { startTime: "2018/01/12 14:32:00", endTime: "2018/01/01 00:00:00", timeZone: "PST" },
    ]);
    expect(v.isValid).toBe(false);
    expect(v.failures.map((f) => f.field)).toEqual(["startTime", "timeZone"]);
    expect(validateSchedules([{ startTime: "2018/13/01 00:00:00" }]).failures).toEqual([
      { field: "startTime", reason: "invalid value" },
    ]);
  });
});
