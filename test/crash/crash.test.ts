import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TEST_BACKEND } from "../support/test-db.ts";
import { type CrashTarget, runCrashScenario } from "./crash.ts";

// The short crash test of issue #13 on the suite's database (`npm run test:crash` runs more kills
// on both): writers against a real server process that is killed with SIGKILL twice and started
// again; every write answered 201 must survive, with its audit event. It takes a few seconds per
// server start, far more on a loaded machine, hence the generous timeout.
describe(`crash test (${TEST_BACKEND})`, () => {
  it("keeps every acknowledged write across SIGKILL and restart", { timeout: 300_000 }, async () => {
    const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
    const dataDir = url ? null : mkdtempSync(join(tmpdir(), "gh-crash-"));
    const target: CrashTarget = url ? { databaseUrl: url } : { dataDir: dataDir as string };
    try {
      const report = await runCrashScenario({ target, kills: 2, minLoadMs: 200, maxLoadMs: 800 });
      expect(report.acknowledged).toBeGreaterThan(0);
      expect({ missing: report.missing, unexpected: report.unexpected, seed: report.seed }).toEqual({
        missing: [],
        unexpected: [],
        seed: report.seed,
      });
      expect(report.present).toBe(report.acknowledged);
    } finally {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
