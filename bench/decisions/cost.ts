// `node bench/decisions/cost.ts [--duration S] [--connections N] [--only a,b]` (names contain a or b)
//
// Where a request's time goes: drives one gatehouse process (PostgreSQL) route by route with
// autocannon from this process and reports, beside req/s and p99, the server's CPU time per
// request (/proc CPU seconds of the server process over the run ÷ requests answered). The bare
// Fastify route (its own process) is measured the same way, as the floor of the HTTP stack.
// CPU per request is what to compare while tuning on a shared 2-core machine: req/s moves
// with whatever else runs, CPU per request hardly does.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { cpuTimesOf } from "./cpu.ts";
import { startBare, startGatehouse, startPostgres } from "./processes.ts";
import { autocannon, routeScenarios } from "./scenarios.ts";
import { apiOf, seed } from "./seed.ts";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    only: { type: "string" },
  },
});
const PSK = "bench-psk-0123456789abcdef";
const stops: (() => void)[] = [];

try {
  let databaseUrl = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!databaseUrl) {
    const pg = await startPostgres();
    databaseUrl = pg.url;
    stops.push(pg.stop);
  }
  const bare = await startBare();
  stops.unshift(() => bare.child.kill("SIGTERM"));
  const gh = await startGatehouse(databaseUrl, PSK);
  stops.unshift(() => gh.child.kill("SIGTERM"));
  const seeded = await seed(apiOf(gh.url, PSK), 1_000);
  const api = apiOf(gh.url, PSK);
  await api("POST", "/v1/decisions", seeded.decision(seeded.alice.username));

  const scenarios = routeScenarios({ bareUrl: bare.url, gatehouseUrl: gh.url, psk: PSK, seeded, policies: 1_000 });
  const only = flags.only?.split(",");
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
  process.stdout.write(
    `${"scenario".padEnd(32)} ${"req/s".padStart(8)} ${"p99 ms".padStart(7)} ${"CPU µs/req".padStart(11)} ${"user".padStart(6)} ${"sys".padStart(6)}\n`,
  );
  for (const s of scenarios) {
    if (only && !only.some((o) => s.name.includes(o))) continue;
    const pid = (s.server === "bare" ? bare.child.pid : gh.child.pid) ?? 0;
    await autocannon({ ...s.request, connections: Number(flags.connections), duration: 2 });
    const before = cpuTimesOf(pid);
    const r = await autocannon({
      ...s.request,
      connections: Number(flags.connections),
      duration: Number(flags.duration),
    });
    const after = cpuTimesOf(pid);
    const answered = r.requests.total;
    const perRequest = (seconds: number) => ((seconds / answered) * 1e6).toFixed(1);
    const user = after.user - before.user;
    const system = after.system - before.system;
    const wrong = s.expect === 200 ? r.non2xx : r["2xx"];
    process.stdout.write(
      `${s.name.padEnd(32)} ${r.requests.average.toFixed(0).padStart(8)} ${String(r.latency.p99).padStart(7)} ${perRequest(user + system).padStart(11)} ${perRequest(user).padStart(6)} ${perRequest(system).padStart(6)}${wrong || r.errors ? `  (unexpected status ${wrong}, errors ${r.errors})` : ""}\n`,
    );
  }
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
} finally {
  for (const stop of stops) stop();
}
