// `node bench/decisions/instructions.ts [--requests N] [--warmup N] [--windows N] [--connections N] [--policies N] [--only a,b] [--tree DIR]`
//
// Instructions per request, route by route: the bare Fastify server and one gatehouse process
// (PostgreSQL) run under valgrind's callgrind; each route is warmed up, the counters are zeroed
// (`callgrind_control -z`), exactly `--requests` requests are sent (autocannon `amount`), and the
// counters are dumped (`callgrind_control -d`), `--windows` times in a row. The total over the server's threads ÷ requests
// is its user-space instructions per request. Unlike CPU time it does not move with whatever
// else the shared machine runs, so a change of a few percent shows; kernel time (the socket
// calls, the same for every route) is not counted. Slow: the servers run about 50× slower.
// `--tree DIR` runs another checkout's server (an A/B comparison: run once per tree).
// `--keep` leaves the callgrind files (one per dump and thread) for callgrind_annotate.
import { type ChildProcess, execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBare, startGatehouse, startPostgres } from "./processes.ts";
import { autocannon, PDP_DELEGATION, routeScenarios } from "./scenarios.ts";
import { apiOf, seed } from "./seed.ts";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "5000" },
    warmup: { type: "string", default: "10000" },
    connections: { type: "string", default: "4" },
    policies: { type: "string", default: "100" },
    only: { type: "string" },
    windows: { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
    tree: { type: "string" },
  },
});
const PSK = "bench-psk-0123456789abcdef";
const stops: (() => void | Promise<void>)[] = [];
const outDir = mkdtempSync(join(tmpdir(), "gatehouse-callgrind-"));
const wrapper = ["valgrind", "-q", "--tool=callgrind", `--callgrind-out-file=${outDir}/cg.%p`];

/** Stops a server and waits for it (callgrind writes its last file on exit). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 30_000))]);
}

/** Zeroes the counters of the callgrind process `pid`. */
const zero = (pid: number) => execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });

/** Dumps the counters of `pid` and returns the instructions counted since they were zeroed. */
function dump(pid: number): number {
  const before = new Set(readdirSync(outDir));
  execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
  let total = 0;
  // One file per thread (V8's compiler and GC threads count too): sum their totals.
  for (const file of readdirSync(outDir)) {
    if (before.has(file) || !file.startsWith(`cg.${pid}`)) continue;
    const line = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(outDir, file), "utf8"));
    total += Number(line?.[1] ?? 0);
  }
  return total;
}

try {
  let databaseUrl = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!databaseUrl) {
    const pg = await startPostgres();
    databaseUrl = pg.url;
    stops.push(pg.stop);
  }
  const only = flags.only?.split(",");
  const wanted = (name: string) => !only || only.some((o) => name.includes(o));
  // The bare server only when a bare scenario is wanted: under valgrind every process is slow to start.
  const bare = wanted("bare") ? await startBare(wrapper) : undefined;
  if (bare) stops.unshift(() => stop(bare.child));
  process.env.GATEHOUSE_RANGER_PDP_DELEGATION_USERS = PDP_DELEGATION;
  const gh = await startGatehouse(databaseUrl, PSK, wrapper, 600_000, flags.tree);
  stops.unshift(() => stop(gh.child));
  const policies = Number(flags.policies);
  const seeded = await seed(apiOf(gh.url, PSK), policies);
  await apiOf(gh.url, PSK)("POST", "/v1/decisions", seeded.decision(seeded.alice.username));

  const scenarios = routeScenarios({ bareUrl: bare?.url ?? "", gatehouseUrl: gh.url, psk: PSK, seeded, policies });
  const requests = Number(flags.requests);
  const connections = Number(flags.connections);
  process.stdout.write(`${"scenario".padEnd(32)} instructions per request, window by window\n`);
  for (const s of scenarios) {
    if (!wanted(s.name)) continue;
    const pid = (s.server === "bare" ? bare?.child.pid : gh.child.pid) ?? 0;
    await autocannon({ ...s.request, connections, amount: Number(flags.warmup), timeout: 60 });
    // Several windows in a row: they agree once the JIT has settled (V8 keeps optimising for a while).
    const counts: string[] = [];
    let wrong = 0;
    let errors = 0;
    for (let w = 0; w < Number(flags.windows); w++) {
      zero(pid);
      const r = await autocannon({ ...s.request, connections, amount: requests, timeout: 60 });
      counts.push(
        Math.round(dump(pid) / r.requests.total)
          .toLocaleString("en")
          .padStart(9),
      );
      wrong += s.expect === 200 ? r.non2xx : r["2xx"];
      errors += r.errors;
    }
    process.stdout.write(
      `${s.name.padEnd(32)} ${counts.join(" ")}${wrong || errors ? `  (unexpected status ${wrong}, errors ${errors})` : ""}\n`,
    );
  }
} finally {
  for (const stop of stops) await stop();
  if (flags.keep) process.stdout.write(`callgrind files: ${outDir}\n`);
  else rmSync(outDir, { recursive: true, force: true });
}
