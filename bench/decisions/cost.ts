// `node bench/decisions/cost.ts [--duration S] [--connections N] [--only a,b] [--trees A,B] [--rounds N]`
// (`--only`: the scenarios whose names contain a or b)
//
// Where a request's time goes: drives one gatehouse process (PostgreSQL) route by route with
// autocannon from this process and reports, beside req/s and p99, the server's CPU time per
// request (/proc CPU seconds of the server process over the run ÷ requests answered). The bare
// Fastify route (its own process) is measured the same way, as the floor of the HTTP stack.
// CPU per request is what to compare while tuning on a shared 2-core machine: req/s moves
// with whatever else runs, CPU per request hardly does.
// `--trees A,B` starts one server per checkout (directories; `.` is this one) on the same database
// and measures them alternately, scenario by scenario, `--rounds` times, then prints each tree's
// median: an A/B comparison that shares whatever load the machine has at the moment.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { cpuTimesOf } from "./cpu.ts";
import { startBare, startGatehouse, startPostgres } from "./processes.ts";
import { autocannon, PDP_DELEGATION, type RouteScenario, routeScenarios } from "./scenarios.ts";
import { apiOf, seed } from "./seed.ts";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    only: { type: "string" },
    trees: { type: "string", default: "." },
    rounds: { type: "string", default: "1" },
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
  process.env.GATEHOUSE_RANGER_PDP_DELEGATION_USERS = PDP_DELEGATION;
  const trees = flags.trees.split(",");
  const servers: { tree: string; url: string; pid: number }[] = [];
  for (const tree of trees) {
    const gh = await startGatehouse(databaseUrl, PSK, [], 60_000, tree);
    stops.unshift(() => gh.child.kill("SIGTERM"));
    servers.push({ tree, url: gh.url, pid: gh.child.pid ?? 0 });
  }
  const first = servers[0] as (typeof servers)[number];
  const seeded = await seed(apiOf(first.url, PSK), 1_000);
  for (const server of servers) {
    await apiOf(server.url, PSK)("POST", "/v1/decisions", seeded.decision(seeded.alice.username));
  }

  const scenariosOf = (url: string) =>
    routeScenarios({ bareUrl: bare.url, gatehouseUrl: url, psk: PSK, seeded, policies: 1_000 });
  const only = flags.only?.split(",");
  const rounds = Math.max(1, Number(flags.rounds));
  const perTree = trees.length > 1;
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
  process.stdout.write(
    `${"scenario".padEnd(44)} ${"req/s".padStart(8)} ${"p99 ms".padStart(7)} ${"CPU µs/req".padStart(11)} ${"user".padStart(6)} ${"sys".padStart(6)}\n`,
  );
  const measure = async (s: RouteScenario, pid: number, label: string): Promise<number> => {
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
      `${label.padEnd(44)} ${r.requests.average.toFixed(0).padStart(8)} ${String(r.latency.p99).padStart(7)} ${perRequest(user + system).padStart(11)} ${perRequest(user).padStart(6)} ${perRequest(system).padStart(6)}${wrong || r.errors ? `  (unexpected status ${wrong}, errors ${r.errors})` : ""}\n`,
    );
    return ((user + system) / answered) * 1e6;
  };
  const names = scenariosOf(first.url).map((s) => s.name);
  for (const name of names) {
    if (only && !only.some((o) => name.includes(o))) continue;
    const byTree = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const server of servers) {
        const s = scenariosOf(server.url).find((x) => x.name === name) as RouteScenario;
        if (s.server === "bare") {
          if (server !== first) continue;
          await measure(s, bare.child.pid ?? 0, name);
        } else {
          const cpu = await measure(s, server.pid, perTree ? `${name} [${server.tree}]` : name);
          byTree.set(server.tree, [...(byTree.get(server.tree) ?? []), cpu]);
        }
      }
    }
    if (rounds > 1 || perTree) {
      for (const [tree, xs] of byTree) {
        const sorted = [...xs].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)] as number;
        process.stdout.write(
          `  median CPU µs/req of ${name} [${tree}]: ${median.toFixed(1)} (${xs.map((x) => x.toFixed(0)).join(", ")})\n`,
        );
      }
    }
  }
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
} finally {
  for (const stop of stops) stop();
}
