import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GatehouseCluster } from "../../test/connector-faults/cluster.ts";
import { FAULTS_ENV, type FaultReport, runConnectorFaultScenario } from "../../test/connector-faults/scenario.ts";
import { type FaultTarget, keycloakFaultTarget, rangerFaultTarget } from "../../test/connector-faults/targets.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

// The connector fault scenario of issue #15, short (`npm run test:connector-faults` runs it at full
// size: 1,000 changes, the target down for a minute): changes written while the target is down, the
// worker's process SIGKILLed while it delivers the backlog, two server processes competing for the
// worker on PostgreSQL (one on the embedded database, started again on its data). Afterwards the
// target matches Gatehouse exactly and nothing is left pending, for the Ranger target (a second
// Gatehouse) and the Keycloak double alike. Server starts take seconds, minutes on a loaded machine.

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
const dataDir = url ? null : mkdtempSync(join(tmpdir(), "gh-faults-"));
const cluster = new GatehouseCluster(
  { ...FAULTS_ENV, ...(url ? { GATEHOUSE_DATABASE_URL: url } : { GATEHOUSE_DATA_DIR: dataDir as string }) },
  url ? 2 : 1,
);
afterAll(async () => {
  await cluster.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

function expectConverged(report: FaultReport) {
  expect(report.pendingAtUp).toBeGreaterThan(0); // the target was down while changes were made
  expect(report.mostLeaders).toBe(1);
  expect({ differences: report.differences, gatehouse: report.gatehouseDifferences, seed: report.seed }).toEqual({
    differences: [],
    gatehouse: [],
    seed: report.seed,
  });
  expect(report.dryRun).toEqual({
    desired: report.groups,
    counts: { missing: 0, extra: 0, members: 0, attributes: 0 },
  });
  expect(report.status).toEqual({ pending: 0, failing: 0, deadLettered: 0 });
}

describe(`connector faults: target down, worker killed, processes competing (${TEST_BACKEND})`, () => {
  for (const [name, start] of [
    ["ranger", rangerFaultTarget],
    ["keycloak", keycloakFaultTarget],
  ] as const) {
    it(`${name}: 150 changes, target down 3 s, worker SIGKILLed mid-delivery: target == Gatehouse, nothing pending`, {
      timeout: 600_000,
    }, async () => {
      let target: FaultTarget | undefined;
      try {
        [target] = await Promise.all([start(), cluster.fill()]);
        expectConverged(await runConnectorFaultScenario({ cluster, target, changes: 150, downMs: 3_000 }));
      } finally {
        await target?.close();
      }
    });
  }
});
