import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stableJson } from "./report.ts";
import { runAll } from "./run.ts";

const ROOT = join(import.meta.dirname, "../../../../shared/conformance/ranger");

describe("Ranger conformance corpus", () => {
  it("runs every shared corpus file through `gatehouse test` with 0 failures", () => {
    const summary = runAll([ROOT], ROOT);
    const failures = summary.reports.flatMap((r) =>
      r.failures.map((f) => `${f.file} :: ${f.test} :: expected ${stableJson(f.expected)} got ${stableJson(f.got)}`),
    );
    expect(summary.passed).toBeGreaterThan(800);
    expect(failures).toEqual([]);
  });
});
