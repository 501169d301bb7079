/**
 * A fixed amount of decision work for instruction and cache-miss counts, which stay repeatable on a
 * shared machine where wall-clock and even CPU-time figures do not (other sessions' load changes
 * both the core share and the cache):
 *   valgrind --tool=callgrind node bench/engine/probe.ts <N> <decisions>
 * Builds the `tables` workload at N policies, warms the engine up on every request of the
 * interleaved allowed/denied stream, then makes `decisions` more decisions. The difference between
 * two runs with different `decisions` (same N) divided by their difference is the cost of one
 * decision, build and warm-up cancelled out. Prints the CPU time of the timed part too.
 */
import { engines } from "./engines.ts";
import { buildTablesWorkload, type TableRequest } from "./workload.ts";

const n = Number(process.argv[2] ?? 10000);
const count = Number(process.argv[3] ?? 1000000);
const engineName = process.argv[4] ?? "gatehouse";
const w = buildTablesWorkload(n);
const engine = engines[engineName];
const loaded = await engine.load(w, engine.input?.(w));
const mixed: TableRequest[] = [];
for (let i = 0; i < w.allowed.length; i++) mixed.push(w.allowed[i], w.denied[i]);
const native = mixed.map(loaded.prepare);
const decide = loaded.decide as (r: unknown) => boolean;
let mismatches = 0;
for (let round = 0; round < 3; round++)
  for (let i = 0; i < native.length; i++) if (decide(native[i]) !== mixed[i].expected) mismatches++;
const cpu0 = process.cpuUsage();
let allowed = 0;
for (let k = 0, i = 0; k < count; k++) {
  if (decide(native[i])) allowed++;
  if (++i === native.length) i = 0;
}
const c = process.cpuUsage(cpu0);
const cpuS = (c.user + c.system) / 1e6;
console.log(
  JSON.stringify({
    engine: engineName,
    n,
    decisions: count,
    allowed,
    mismatches,
    cpuDecisionsPerSec: Math.round(count / cpuS),
  }),
);
