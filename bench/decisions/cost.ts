// `node bench/decisions/cost.ts [--duration S] [--connections N] [--only a,b]` (names contain a or b)
//
// Where a request's time goes: drives one gatehouse process (PostgreSQL) route by route with
// autocannon from this process and reports, beside req/s and p99, the server's CPU time per
// request (/proc CPU seconds of the server process over the run ÷ requests answered). The bare
// Fastify route (its own process) is measured the same way, as the floor of the HTTP stack.
// CPU per request is what to compare while tuning on a shared 2-core machine: req/s moves
// with whatever else runs, CPU per request hardly does.
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { cpuSecondsOf } from "./cpu.ts";
import { startBare, startGatehouse, startPostgres } from "./processes.ts";
import { apiOf, seed } from "./seed.ts";

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  "2xx": number;
}
const autocannon = createRequire(import.meta.url)("autocannon") as (
  o: Record<string, unknown>,
) => Promise<CannonResult>;

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

  const json = { "content-type": "application/json" };
  const auth = { "authorization-psk": PSK };
  const body = JSON.stringify(seeded.decision(seeded.alice.username));
  const batch = JSON.stringify({
    service: seeded.service,
    requests: Array.from({ length: 100 }, (_, i) => ({
      user: i % 2 === 0 ? seeded.alice.username : seeded.bob.username,
      resource: { catalog: "sales", schema: `s${(i * 37) % 1000}`, table: `t${i}` },
      accessType: "select",
    })),
  });
  const scenarios: { name: string; pid: number; opts: Record<string, unknown>; expect: number }[] = [
    {
      name: "bare POST",
      pid: bare.child.pid ?? 0,
      opts: { url: `${bare.url}/bare`, method: "POST", headers: { ...json, ...auth }, body: "{}" },
      expect: 200,
    },
    { name: "GET /healthz", pid: gh.child.pid ?? 0, opts: { url: `${gh.url}/healthz` }, expect: 200 },
    {
      name: "GET /v1/whoami",
      pid: gh.child.pid ?? 0,
      opts: { url: `${gh.url}/v1/whoami`, headers: auth },
      expect: 200,
    },
    {
      name: "POST /v1/decisions 400",
      pid: gh.child.pid ?? 0,
      opts: { url: `${gh.url}/v1/decisions`, method: "POST", headers: { ...json, ...auth }, body: "{}" },
      expect: 400,
    },
    {
      name: "POST /v1/decisions 200",
      pid: gh.child.pid ?? 0,
      opts: { url: `${gh.url}/v1/decisions`, method: "POST", headers: { ...json, ...auth }, body },
      expect: 200,
    },
    {
      name: "POST /v1/decisions:batch of 100",
      pid: gh.child.pid ?? 0,
      opts: { url: `${gh.url}/v1/decisions:batch`, method: "POST", headers: { ...json, ...auth }, body: batch },
      expect: 200,
    },
  ];
  const only = flags.only?.split(",");
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
  process.stdout.write(
    `${"scenario".padEnd(26)} ${"req/s".padStart(8)} ${"p99 ms".padStart(7)} ${"CPU µs/req".padStart(11)}\n`,
  );
  for (const s of scenarios) {
    if (only && !only.some((o) => s.name.includes(o))) continue;
    await autocannon({ ...s.opts, connections: Number(flags.connections), duration: 2 });
    const before = cpuSecondsOf(s.pid);
    const r = await autocannon({ ...s.opts, connections: Number(flags.connections), duration: Number(flags.duration) });
    const cpu = cpuSecondsOf(s.pid) - before;
    const answered = r.requests.total;
    const wrong = s.expect === 200 ? r.non2xx : r["2xx"];
    process.stdout.write(
      `${s.name.padEnd(26)} ${r.requests.average.toFixed(0).padStart(8)} ${String(r.latency.p99).padStart(7)} ${((cpu / answered) * 1e6).toFixed(1).padStart(11)}${wrong || r.errors ? `  (unexpected status ${wrong}, errors ${r.errors})` : ""}\n`,
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
