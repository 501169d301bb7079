// `npm run bench:decisions [-- --json] [--duration S] [--connections N] [--repeat N] [--propagations N]`
//
// Decisions over HTTP against the ceiling of the HTTP stack, on this machine, in one run:
//   1. a bare Fastify route returning a fixed small JSON body (own process): req/s at saturation;
//   2. single decisions `POST /v1/decisions` (gatehouse process on PostgreSQL): req/s at
//      saturation, then p99 latency at a steady load of half the bare route's req/s (open-loop
//      paced client, paced.ts);
//   3. batches of 100 `POST /v1/decisions:batch`: decisions/s;
//   4. change propagation: a policy change committed through one gatehouse process, timed until
//      a second process (its own PostgreSQL connection, LISTEN/NOTIFY) decides by it;
//   5. Ranger PDP: single `POST /authz/v1/authorize` (req/s, against the single decisions of 2.)
//      and `POST /authz/v1/authorizeMulti` with 100 accesses (permissions/s).
// Load comes from this process (autocannon) over loopback; the servers are separate processes.
// PostgreSQL: GATEHOUSE_BENCH_DATABASE_URL, or a throwaway one started here (initdb + pg_ctl).
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { cpuSecondsOf } from "./cpu.ts";
import { pacedLoad } from "./paced.ts";
import { startBare, startGatehouse, startPostgres } from "./processes.ts";
import { apiOf, seed } from "./seed.ts";

interface CannonResult {
  requests: { average: number; total: number };
  /** Server CPU time per answered request (µs), set by `measured`. */
  cpuUsPerRequest?: number;
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    propagations: { type: "string", default: "40" },
    repeat: { type: "string", default: "2" },
  },
});
const duration = Number(flags.duration);
const connections = Number(flags.connections);
const PSK = "bench-psk-0123456789abcdef";
const log = (msg: string) => {
  if (!flags.json) process.stderr.write(`${msg}\n`);
};

const children: ChildProcess[] = [];
let stopPg: (() => void) | undefined;
async function cleanup() {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill("SIGTERM");
      await Promise.race([once(c, "exit"), new Promise((r) => setTimeout(r, 5_000))]);
    }
  }
  stopPg?.();
}

const round1 = (x: number | undefined) => (x === undefined ? null : Number(x.toFixed(1)));

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil(s.length * q) - 1))] ?? Number.NaN;
};

async function main() {
  const load = { before: loadavg().map((l) => Number(l.toFixed(2))), cpus: cpus().length };
  log(`load average before: ${load.before.join(" ")} on ${load.cpus} cpus`);
  let databaseUrl = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!databaseUrl) {
    const pg = await startPostgres();
    databaseUrl = pg.url;
    stopPg = pg.stop;
  }
  // The PDP runs ask as the bench PSK's caller (`psk`) about alice: a delegation user.
  process.env.GATEHOUSE_RANGER_PDP_DELEGATION_USERS = "*=psk";
  const bare = await startBare();
  children.push(bare.child);
  const a = await startGatehouse(databaseUrl, PSK);
  children.push(a.child);
  const b = await startGatehouse(databaseUrl, PSK);
  children.push(b.child);

  // Seed: a service with 1,000 policies (one per schema), a group, its member and an outsider.
  const seeded = await seed(apiOf(a.url, PSK), 1_000);
  const { service, alice, bob, group, targetId, decision } = seeded;
  const apiA = apiOf(a.url, PSK);
  const apiB = apiOf(b.url, PSK);
  // Warm both engines and caches.
  for (const api of [apiA, apiB]) {
    await api("POST", "/v1/decisions", decision(alice.username));
    await api("POST", "/v1/decisions", decision(bob.username));
  }
  log(`seeded ${service}: 1,000 policies; servers ${a.url} ${b.url}; bare ${bare.url}`);

  const headers = { "content-type": "application/json", "authorization-psk": PSK };
  const cannon = (opts: Record<string, unknown>) => autocannon({ connections, duration, ...opts });
  // A run that also reports the server's CPU time per request (CPU seconds of its process over the
  // run ÷ requests answered): far steadier than req/s on a shared machine.
  const measured = async (pid: number | undefined, opts: Record<string, unknown>) => {
    const before = pid ? cpuSecondsOf(pid) : 0;
    const r = await cannon(opts);
    if (pid && r.requests.total > 0) r.cpuUsPerRequest = ((cpuSecondsOf(pid) - before) / r.requests.total) * 1e6;
    return r;
  };
  // Best of `--repeat` runs: other work on a shared machine only ever lowers a run's figure, and
  // the bare route gets the same treatment, so the ratio stays fair.
  const best = async (pid: number | undefined, opts: Record<string, unknown>) => {
    let top: CannonResult | undefined;
    for (let i = 0; i < Math.max(1, Number(flags.repeat)); i++) {
      const r = await measured(pid, opts);
      if (!top || r.requests.average > top.requests.average) top = r;
    }
    return top as CannonResult;
  };
  const cpu = (r: CannonResult) =>
    r.cpuUsPerRequest === undefined ? "" : `, ${r.cpuUsPerRequest.toFixed(1)} µs CPU/req`;

  // Warm-up of the JIT for both targets, then the measured runs.
  await cannon({ url: `${bare.url}/bare`, method: "POST", headers, body: "{}", duration: 2 });
  const bareRun = await best(bare.child.pid, { url: `${bare.url}/bare`, method: "POST", headers, body: "{}" });
  log(`bare route: ${bareRun.requests.average.toFixed(0)} req/s, p99 ${bareRun.latency.p99} ms${cpu(bareRun)}`);

  const singleBody = JSON.stringify(decision(alice.username));
  await cannon({ url: `${a.url}/v1/decisions`, method: "POST", headers, body: singleBody, duration: 3 });
  const singleRun = await best(a.child.pid, {
    url: `${a.url}/v1/decisions`,
    method: "POST",
    headers,
    body: singleBody,
  });
  log(
    `single decisions: ${singleRun.requests.average.toFixed(0)} req/s, p99 ${singleRun.latency.p99} ms (saturated)${cpu(singleRun)}`,
  );
  // Latency at a steady half of the bare route's rate, from an open-loop paced client (see
  // paced.ts: autocannon's overallRate sends each second's quota in saturated bursts). The bare
  // route is driven the same way at the same rate, alternating with gatehouse, as a control: the
  // tail the HTTP stack itself has at that load on this machine at that moment. Best of
  // `--repeat` for each, as for the saturated runs (other work only ever raises a p99); every run
  // is printed.
  const halfRate = Math.floor(bareRun.requests.average / 2);
  const pacedRun = async (pid: number | undefined, url: string, body: string) => {
    const serverBefore = pid ? cpuSecondsOf(pid) : 0;
    const clientBefore = process.cpuUsage();
    const started = performance.now();
    const r = await pacedLoad({
      url,
      method: "POST",
      headers,
      body,
      rate: halfRate,
      durationSeconds: duration,
      connections,
    });
    const seconds = (performance.now() - started) / 1000;
    const client = process.cpuUsage(clientBefore);
    const serverSeconds = pid ? cpuSecondsOf(pid) - serverBefore : undefined;
    return {
      ...r,
      cpuUsPerRequest: serverSeconds !== undefined && r.completed > 0 ? (serverSeconds / r.completed) * 1e6 : undefined,
      // How busy the server and this client were (share of one core): a server well below 100 %
      // while requests queue was kept from the CPU by other work on the machine.
      serverBusy: serverSeconds === undefined ? undefined : (serverSeconds / seconds) * 100,
      clientBusy: ((client.user + client.system) / 1e6 / seconds) * 100,
      clientUsPerRequest: (client.user + client.system) / Math.max(1, r.completed),
    };
  };
  type PacedRun = Awaited<ReturnType<typeof pacedRun>>;
  const describe = (label: string, r: PacedRun) =>
    `${label} at ${halfRate} req/s offered (paced): ${r.reqPerSec} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms${r.cpuUsPerRequest === undefined ? "" : `, ${r.cpuUsPerRequest.toFixed(1)} µs CPU/req`}, server busy ${r.serverBusy?.toFixed(0) ?? "?"} % of a core, load client ${r.clientBusy.toFixed(0)} %${r.incomplete > 0 ? `, ${r.incomplete} unanswered (server behind)` : ""}`;
  let paced: PacedRun | undefined;
  let pacedBare: PacedRun | undefined;
  for (let i = 0; i < Math.max(1, Number(flags.repeat)); i++) {
    const g = await pacedRun(a.child.pid, `${a.url}/v1/decisions`, singleBody);
    log(`  ${describe("single decisions", g)}`);
    if (!paced || g.latency.p99 < paced.latency.p99) paced = g;
    const c = await pacedRun(bare.child.pid, `${bare.url}/bare`, "{}");
    log(`  ${describe("bare route (control)", c)}`);
    if (!pacedBare || c.latency.p99 < pacedBare.latency.p99) pacedBare = c;
  }
  if (!paced || !pacedBare) throw new Error("no paced run");
  log(describe("single decisions", paced));
  log(describe("bare route (control)", pacedBare));

  const batch = JSON.stringify({
    service,
    requests: Array.from({ length: 100 }, (_, i) => ({
      user: i % 2 === 0 ? alice.username : bob.username,
      resource: { catalog: "sales", schema: `s${(i * 37) % 1000}`, table: `t${i}` },
      accessType: "select",
    })),
  });
  await cannon({ url: `${a.url}/v1/decisions:batch`, method: "POST", headers, body: batch, duration: 2 });
  const batchRun = await best(a.child.pid, {
    url: `${a.url}/v1/decisions:batch`,
    method: "POST",
    headers,
    body: batch,
  });
  const batchDecisions = batchRun.requests.average * 100;
  log(`batches of 100: ${batchRun.requests.average.toFixed(0)} req/s = ${batchDecisions.toFixed(0)} decisions/s`);

  // Ranger PDP: the same decision as a single authorize, and 100 accesses in one authorizeMulti.
  const pdpContext = { serviceType: "trino", serviceName: service };
  const pdpSingleBody = JSON.stringify({
    user: { name: alice.username },
    access: { resource: { name: "table:sales/s7/orders" }, permissions: ["select"] },
    context: pdpContext,
  });
  const pdpMultiBody = JSON.stringify({
    user: { name: alice.username },
    accesses: Array.from({ length: 100 }, (_, i) => ({
      resource: { name: `table:sales/s${(i * 37) % 1000}/t${i}` },
      permissions: ["select"],
    })),
    context: pdpContext,
  });
  for (const [path, body] of [
    ["/authz/v1/authorize", pdpSingleBody],
    ["/authz/v1/authorizeMulti", pdpMultiBody],
  ] as const) {
    const answer = await apiA<{ decision: string }>("POST", path, JSON.parse(body));
    if (answer.decision !== "ALLOW") throw new Error(`${path}: ${JSON.stringify(answer)}`);
  }
  await cannon({ url: `${a.url}/authz/v1/authorize`, method: "POST", headers, body: pdpSingleBody, duration: 3 });
  const pdpSingleRun = await best(a.child.pid, {
    url: `${a.url}/authz/v1/authorize`,
    method: "POST",
    headers,
    body: pdpSingleBody,
  });
  log(
    `ranger pdp authorize: ${pdpSingleRun.requests.average.toFixed(0)} req/s, p99 ${pdpSingleRun.latency.p99} ms (saturated)${cpu(pdpSingleRun)}`,
  );
  await cannon({ url: `${a.url}/authz/v1/authorizeMulti`, method: "POST", headers, body: pdpMultiBody, duration: 2 });
  const pdpMultiRun = await best(a.child.pid, {
    url: `${a.url}/authz/v1/authorizeMulti`,
    method: "POST",
    headers,
    body: pdpMultiBody,
  });
  const pdpPermissions = pdpMultiRun.requests.average * 100;
  log(
    `ranger pdp authorizeMulti of 100: ${pdpMultiRun.requests.average.toFixed(0)} req/s = ${pdpPermissions.toFixed(0)} permissions/s${cpu(pdpMultiRun)}`,
  );

  // The ratio of two routes measured a minute apart swings with the host's other work (both ways:
  // session 7 saw 0.77, session 8 1.8 on one tree). Back-to-back pairs, their order alternated, and
  // the median of the pairs' ratios do not: this is what the 0.9 target is judged on.
  const pairSeconds = Math.min(duration, 5);
  const pairRatios: number[] = [];
  for (let i = 0; i < Math.max(3, Number(flags.repeat)); i++) {
    const runSingle = () =>
      cannon({ url: `${a.url}/v1/decisions`, method: "POST", headers, body: singleBody, duration: pairSeconds });
    const runAuthorize = () =>
      cannon({
        url: `${a.url}/authz/v1/authorize`,
        method: "POST",
        headers,
        body: pdpSingleBody,
        duration: pairSeconds,
      });
    let single: CannonResult;
    let authorize: CannonResult;
    if (i % 2 === 0) {
      single = await runSingle();
      authorize = await runAuthorize();
    } else {
      authorize = await runAuthorize();
      single = await runSingle();
    }
    pairRatios.push(authorize.requests.average / single.requests.average);
  }
  const pairedRatio = percentile(pairRatios, 0.5);
  log(
    `ranger pdp authorize ÷ single decisions, ${pairRatios.length} back-to-back pairs of ${pairSeconds} s: ${pairRatios.map((r) => r.toFixed(2)).join(", ")} (median ${pairedRatio.toFixed(2)})`,
  );

  // Propagation: flip bob's grant on policy p7 through A, poll B until it decides by it.
  const waits: number[] = [];
  const count = Number(flags.propagations);
  for (let i = 0; i < count; i++) {
    const grant = i % 2 === 0;
    const items = grant
      ? [{ groups: [group.name], users: [bob.username], accesses: [{ type: "select" }] }]
      : [{ groups: [group.name], accesses: [{ type: "select" }] }];
    await apiA("PATCH", `/v1/services/${service}/policies/${targetId}`, { policyItems: items });
    const committed = performance.now();
    for (;;) {
      const d = await apiB<{ allowed: boolean }>("POST", "/v1/decisions", decision(bob.username));
      if (d.allowed === grant) break;
      if (performance.now() - committed > 10_000) throw new Error("change did not propagate within 10 s");
    }
    waits.push(performance.now() - committed);
  }
  const propagationP99 = percentile(waits, 0.99);
  log(
    `propagation A→B over ${count} changes: p50 ${percentile(waits, 0.5).toFixed(1)} ms, p99 ${propagationP99.toFixed(1)} ms`,
  );

  const targets = [
    {
      name: "single decisions req/s ≥ 0.5 × bare route",
      value: Math.round(singleRun.requests.average),
      target: Math.round(bareRun.requests.average / 2),
      pass: singleRun.requests.average >= bareRun.requests.average / 2,
    },
    {
      name: "single decisions p99 ≤ 5 ms at half the bare route's req/s",
      value: paced.latency.p99,
      target: 5,
      pass: paced.latency.p99 <= 5 && paced.reqPerSec >= halfRate * 0.95,
    },
    {
      name: "batches of 100: decisions/s ≥ 200,000",
      value: Math.round(batchDecisions),
      target: 200_000,
      pass: batchDecisions >= 200_000,
    },
    {
      name: "change propagation between two processes p99 ≤ 1 s (ms)",
      value: Number(propagationP99.toFixed(1)),
      target: 1_000,
      pass: propagationP99 <= 1_000,
    },
    {
      name: "ranger pdp authorize req/s ÷ single decisions req/s ≥ 0.9 (median of back-to-back pairs)",
      value: Number(pairedRatio.toFixed(2)),
      target: 0.9,
      pass: pairedRatio >= 0.9,
    },
    {
      name: "ranger pdp authorizeMulti of 100: permissions/s ≥ 200,000",
      value: Math.round(pdpPermissions),
      target: 200_000,
      pass: pdpPermissions >= 200_000,
    },
  ];
  const errors =
    [bareRun, singleRun, batchRun, pdpSingleRun, pdpMultiRun].reduce((n, r) => n + r.non2xx + r.errors, 0) +
    paced.non2xx +
    paced.errors +
    pacedBare.non2xx +
    pacedBare.errors;
  const report = {
    machine: { ...load, after: loadavg().map((l) => Number(l.toFixed(2))), node: process.version },
    settings: {
      duration,
      connections,
      repeat: Number(flags.repeat),
      bestOfRepeat: true,
      policies: 1_000,
      audit: "off in the seeded policies",
    },
    bare: {
      reqPerSec: Math.round(bareRun.requests.average),
      p99Ms: bareRun.latency.p99,
      cpuUsPerRequest: round1(bareRun.cpuUsPerRequest),
      // the control: the bare route paced at the same offered rate as the decisions
      pacedReqPerSec: pacedBare.reqPerSec,
      pacedP50Ms: pacedBare.latency.p50,
      pacedP99Ms: pacedBare.latency.p99,
      pacedMaxMs: pacedBare.latency.max,
      pacedCpuUsPerRequest: round1(pacedBare.cpuUsPerRequest),
    },
    single: {
      reqPerSec: Math.round(singleRun.requests.average),
      p99MsSaturated: singleRun.latency.p99,
      pacedOfferedReqPerSec: halfRate,
      pacedReqPerSec: paced.reqPerSec,
      pacedP50Ms: paced.latency.p50,
      pacedP99Ms: paced.latency.p99,
      pacedMaxMs: paced.latency.max,
      pacedIncomplete: paced.incomplete,
      cpuUsPerRequest: round1(singleRun.cpuUsPerRequest),
      pacedCpuUsPerRequest: round1(paced.cpuUsPerRequest),
      pacedServerBusyPercent: round1(paced.serverBusy),
      pacedClientBusyPercent: round1(paced.clientBusy),
    },
    batch100: { reqPerSec: Math.round(batchRun.requests.average), decisionsPerSec: Math.round(batchDecisions) },
    rangerPdp: {
      authorizeReqPerSec: Math.round(pdpSingleRun.requests.average),
      authorizeP99MsSaturated: pdpSingleRun.latency.p99,
      authorizeCpuUsPerRequest: round1(pdpSingleRun.cpuUsPerRequest),
      authorizeToSingleRatioPaired: Number(pairedRatio.toFixed(2)),
      authorizeMulti100ReqPerSec: Math.round(pdpMultiRun.requests.average),
      authorizeMulti100PermissionsPerSec: Math.round(pdpPermissions),
    },
    propagation: {
      changes: count,
      p50Ms: Number(percentile(waits, 0.5).toFixed(1)),
      p99Ms: Number(propagationP99.toFixed(1)),
      maxMs: Number(Math.max(...waits).toFixed(1)),
    },
    errors,
    targets,
    pass: targets.every((t) => t.pass) && errors === 0,
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const t of targets)
      process.stdout.write(`${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.value} (target ${t.target})\n`);
    process.stdout.write(`non-2xx or errors: ${errors}; load average after: ${report.machine.after.join(" ")}\n`);
  }
  process.exitCode = report.pass ? 0 : 1;
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
