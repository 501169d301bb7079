/**
 * `npm run test:connector-faults`: the connector fault scenario of issue #15 at its stated size, for
 * both targets (the Ranger stand-in and the Keycloak double), on the embedded database and on the
 * PostgreSQL of GATEHOUSE_TEST_DATABASE_URL (two server processes competing for the worker there).
 * 1,000 changes, the target down for a minute, the worker's process SIGKILLed while it delivers
 * the backlog. Prints each run's figures and exits 1 when a target differs from Gatehouse, anything
 * is left pending, or two processes led one connector at once. The suite runs the same code short
 * (src/connectors/worker-failover.test.ts).
 *
 *   GATEHOUSE_TEST_DATABASE_URL=postgres://... npm run test:connector-faults [-- --changes 1000] [--down 60] [--seed 42]
 *   [--only pglite|postgres] [--target ranger|keycloak]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GatehouseCluster } from "./cluster.ts";
import { FAULTS_ENV, type FaultReport, runConnectorFaultScenario } from "./scenario.ts";
import { type FaultTarget, keycloakFaultTarget, rangerFaultTarget } from "./targets.ts";

const { values } = parseArgs({
  options: {
    changes: { type: "string", default: "1000" },
    down: { type: "string", default: "60" },
    seed: { type: "string" },
    only: { type: "string" },
    target: { type: "string" },
  },
});
const changes = Number(values.changes);
const downMs = Number(values.down) * 1000;
const seed = values.seed === undefined ? undefined : Number(values.seed);
const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
const out = (line: string) => process.stdout.write(`${line}\n`);

const failures: string[] = [];
function verdict(db: string, r: FaultReport): void {
  const problems = [
    ...r.differences.map((d) => `target differs: ${d}`),
    ...r.gatehouseDifferences.map((d) => `Gatehouse differs from the acknowledged changes: ${d}`),
    ...(r.mostLeaders > 1 ? [`${r.mostLeaders} processes led the connector at once`] : []),
    ...(r.pendingAtUp === 0 ? ["nothing was pending when the target came back"] : []),
    ...(Object.values(r.dryRun.counts).some((n) => n > 0) ? [`dry-run reconcile: ${JSON.stringify(r.dryRun)}`] : []),
    ...(r.dryRun.desired !== r.groups ? [`dry-run desired ${r.dryRun.desired}, groups ${r.groups}`] : []),
    ...(r.status.pending + r.status.failing + r.status.deadLettered > 0 ? [`status ${JSON.stringify(r.status)}`] : []),
  ];
  out(
    `  ${db} / ${r.kind}: ${r.changes} changes (${r.groups} groups, ${r.memberships} memberships at the end), ` +
      `target down ${(r.downMs / 1000).toFixed(1)} s during ${r.changesWhileDown} changes, ` +
      `${r.pendingAtUp} groups pending at its return, worker killed with ${r.pendingAtKill} pending, ` +
      `taken over in ${(r.takeoverMs / 1000).toFixed(1)} s, drained ${(r.drainMs / 1000).toFixed(1)} s after the return; ` +
      `differences ${r.differences.length}, dry-run ${JSON.stringify(r.dryRun.counts)}, status ${JSON.stringify(r.status)}, ` +
      `most leaders at once ${r.mostLeaders}, seed ${r.seed}: ${problems.length === 0 ? "ok" : "FAILED"}`,
  );
  for (const p of problems.slice(0, 20)) out(`    ${p}`);
  if (problems.length > 0) failures.push(`${db} / ${r.kind}`);
}

async function onDatabase(db: string, env: Record<string, string>, size: number): Promise<void> {
  out(`== ${db}: ${size} server process${size > 1 ? "es" : ""}, ${changes} changes, target down ${downMs / 1000} s ==`);
  const cluster = new GatehouseCluster({ ...FAULTS_ENV, ...env }, size);
  try {
    for (const [kind, start] of [
      ["ranger", rangerFaultTarget],
      ["keycloak", keycloakFaultTarget],
    ] as const) {
      if (values.target && values.target !== kind) continue;
      let target: FaultTarget | undefined;
      try {
        [target] = await Promise.all([start(), cluster.fill()]);
        const report = await runConnectorFaultScenario({
          cluster,
          target,
          changes,
          downMs,
          ...(seed !== undefined ? { seed } : {}),
          log: (line) => out(`  ${new Date().toISOString()} ${line}`),
        });
        verdict(db, report);
      } catch (err) {
        out(`  ${db} / ${kind}: FAILED: ${(err as Error).stack ?? err}`);
        failures.push(`${db} / ${kind}`);
      } finally {
        await target?.close();
      }
    }
  } finally {
    await cluster.close();
  }
}

if (!values.only || values.only === "pglite") {
  const dataDir = mkdtempSync(join(tmpdir(), "gh-faults-"));
  try {
    await onDatabase("embedded (PGlite)", { GATEHOUSE_DATA_DIR: dataDir }, 1);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
if (!values.only || values.only === "postgres") {
  if (url) await onDatabase("PostgreSQL", { GATEHOUSE_DATABASE_URL: url }, 2);
  else {
    out("== PostgreSQL: GATEHOUSE_TEST_DATABASE_URL is not set ==");
    failures.push("PostgreSQL (not run)");
  }
}
out(failures.length === 0 ? "connector fault test passed" : `connector fault test FAILED: ${failures.join(", ")}`);
process.exitCode = failures.length === 0 ? 0 : 1;
