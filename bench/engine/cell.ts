/**
 * Measures one engine on one workload at one size and prints one JSON line. Run by run.ts in a fresh
 * process (node --expose-gc, pinned to one core when taskset exists) so that heap figures are not
 * polluted by other cells:
 *   node --expose-gc bench/engine/cell.ts <engine> <tables|mix> <N> [budgetMs]
 *
 * Method:
 * - build: wall time of building the engine from in-memory Ranger JSON (the input is created
 *   before the baseline, so heapMB is the engine's own retained heap: heapUsed delta after two GCs).
 * - correctness: every answer on up to all 2×10,000 requests (within the budget for slow engines)
 *   compared with the ground truth; `mismatches` must be 0.
 * - throughput: an untimed loop over the interleaved allowed/denied stream for `budgetMs`.
 * - latency: batches of B consecutive decisions timed with process.hrtime.bigint(); each batch gives
 *   one sample = batch time / B; p50/p99 over the samples. B is chosen so that a batch lasts about
 *   25 µs (64-256 for sub-microsecond engines, 1 for engines slower than 25 µs), because timing a
 *   single sub-microsecond call measures the timer (~50-100 ns) more than the call. Batching
 *   averages within a batch, so p99 here is the p99 of 25 µs windows, not of single calls.
 */

import type { RangerAccessResult, RangerPolicy } from "../../src/engine/types.ts";
import { engines, type Loaded } from "./engines.ts";
import { type GatehouseEngine, loadGatehouse } from "./gatehouse.ts";
import { mixGroundTruth } from "./mix-truth.ts";
import { buildMixWorkload, buildTablesWorkload, type MixCase, type TableRequest } from "./workload.ts";

const [engineName, workloadName, nArg, budgetArg] = process.argv.slice(2);
const n = Number(nArg);
const BUDGET_MS = Number(budgetArg ?? process.env.BUDGET_MS ?? 1000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const MB = 1024 * 1024;

function heapNow(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Decisions per second of wall time (the target figure) and per second of this process's CPU time
 * (user+system: unaffected by time the core spends on other processes of a shared machine, though
 * not by their cache pollution), over the same loop.
 */
function throughput(decide: (r: never) => unknown, reqs: unknown[]): { wall: number; cpu: number } {
  const d = decide as (r: unknown) => unknown;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = Date.now() + BUDGET_MS;
  let count = 0;
  let i = 0;
  let batch = 1;
  const len = reqs.length;
  while (Date.now() < deadline) {
    const t = Date.now();
    for (let k = 0; k < batch; k++) {
      d(reqs[i]);
      i++;
      if (i === len) i = 0;
    }
    count += batch;
    if (Date.now() - t < 1 && batch < 4096) batch *= 2;
  }
  const wall = count / (Number(process.hrtime.bigint() - start) / 1e9);
  const c = process.cpuUsage(cpu0);
  return { wall, cpu: count / ((c.user + c.system) / 1e6) };
}

function latency(decide: (r: never) => unknown, reqs: unknown[], dps: number) {
  const d = decide as (r: unknown) => unknown;
  const perCallUs = 1e6 / dps;
  const batch = Math.max(1, Math.min(256, Math.round(25 / perCallUs)));
  const samples: number[] = [];
  const deadline = Date.now() + BUDGET_MS;
  let i = 0;
  const len = reqs.length;
  while (Date.now() < deadline && samples.length < 200000) {
    const s = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) {
      d(reqs[i]);
      i++;
      if (i === len) i = 0;
    }
    samples.push(Number(process.hrtime.bigint() - s) / 1000 / batch);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  return { batch, samples: samples.length, p50us: q(0.5), p99us: q(0.99) };
}

function warm(decide: (r: never) => unknown, reqs: unknown[]) {
  const d = decide as (r: unknown) => unknown;
  const end = Date.now() + Math.min(1000, BUDGET_MS);
  for (let i = 0; Date.now() < end; i++) d(reqs[i % reqs.length]);
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function runTables() {
  const w = buildTablesWorkload(n);
  const engine = engines[engineName];
  if (!engine) throw new Error(`unknown engine ${engineName}`);
  await loadGatehouse(); // module loading is not part of any engine's build
  const input = engine.input?.(w);
  const h0 = heapNow();
  const t0 = process.hrtime.bigint();
  const loaded: Loaded = await engine.load(w, input);
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const heapMB = (heapNow() - h0) / MB;
  // interleaved allowed/denied stream, converted once to the engine's request form
  const mixed: TableRequest[] = [];
  for (let i = 0; i < w.allowed.length; i++) mixed.push(w.allowed[i], w.denied[i]);
  const native = mixed.map(loaded.prepare);
  const decide = loaded.decide as (r: unknown) => boolean;
  let checked = 0;
  let mismatches = 0;
  const checkEnd = Date.now() + BUDGET_MS;
  for (let i = 0; i < native.length && (i < 40 || Date.now() < checkEnd); i++) {
    if (decide(native[i]) !== mixed[i].expected) mismatches++;
    checked++;
  }
  warm(decide, native);
  const tp = throughput(decide, native);
  const dps = tp.wall;
  const lat = latency(decide, native, dps);
  const out: Record<string, unknown> = {
    engine: engineName,
    workload: "tables",
    policies: n,
    decisionsPerSec: Math.round(dps),
    cpuDecisionsPerSec: Math.round(tp.cpu),
    p50us: round(lat.p50us, 3),
    p99us: round(lat.p99us, 3),
    buildMs: round(buildMs, 1),
    heapMB: round(heapMB, 1),
    checked,
    mismatches,
    latencyBatch: lat.batch,
  };
  if (engineName === "gatehouse") Object.assign(out, await measureDelta(w.policies.length));
  console.log(JSON.stringify(out));
}

/** One-policy deltas (create, update, delete) applied to a freshly built gatehouse engine. */
async function measureDelta(size: number): Promise<Record<string, unknown>> {
  const api = await loadGatehouse();
  if ("missing" in api) return {};
  const w = buildTablesWorkload(size);
  const { tablesEngineInput } = await import("./workload.ts");
  let engine: GatehouseEngine = api.build(tablesEngineInput(w));
  if (!engine.applyDeltas) return { deltaMs: null, deltaNote: "engine exposes no delta API" };
  const times: number[] = [];
  const mk = (id: number, table: string, group: string): RangerPolicy => ({
    id,
    name: `delta-${id}`,
    service: "dev_trino",
    version: 2,
    isEnabled: true,
    isAuditEnabled: true,
    policyType: 0,
    resources: { catalog: { values: ["c"] }, schema: { values: ["s_delta"] }, table: { values: [table] } },
    policyItems: [{ accesses: [{ type: "select", isAllowed: true }], users: [], groups: [group], roles: [] }],
  });
  const probe = {
    resource: { elements: { catalog: "c", schema: "s_delta", table: "t_0" } },
    accessType: "select",
    user: "u_x",
    userGroups: ["g_delta"],
  };
  let deltaCorrect = true;
  for (let k = 0; k < 9; k++) {
    const changeType = k % 3; // create, update, delete (of the policy created in this round of three)
    const policy = mk(10_000_000 + (k - changeType), changeType === 1 ? "t_0" : "t_1", "g_delta");
    const t = process.hrtime.bigint();
    engine = engine.applyDeltas!([{ changeType, policy, policiesVersion: 2 + k }]);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    const allowed = engine.isAllowed(probe);
    if (allowed !== (changeType === 1)) deltaCorrect = false;
  }
  times.sort((a, b) => a - b);
  return {
    deltaMs: round(times[Math.floor(times.length / 2)], 3),
    deltaMaxMs: round(times[times.length - 1], 3),
    deltaCorrect,
  };
}

async function runMix() {
  if (engineName !== "gatehouse") throw new Error("the mix workload runs on gatehouse only");
  const w = buildMixWorkload(n);
  const api = await loadGatehouse();
  if ("missing" in api) throw new Error(api.missing);
  const h0 = heapNow();
  const t0 = process.hrtime.bigint();
  const engine = api.build(w.input);
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const heapMB = (heapNow() - h0) / MB;
  const answer = (c: MixCase, r: RangerAccessResult) =>
    c.kind === "mask" ? (r.maskType ?? null) : c.kind === "rowfilter" ? (r.filterExpr ?? null) : r.isAllowed;
  let checked = 0;
  let mismatches = 0;
  const examples: unknown[] = [];
  const checkEnd = Date.now() + 4 * BUDGET_MS;
  for (let i = 0; i < w.cases.length && (i < 200 || Date.now() < checkEnd); i++) {
    const c = w.cases[i];
    const expected = mixGroundTruth(w, c);
    const got = answer(c, engine.evaluate(c.request, c.policyType));
    checked++;
    if (got !== expected) {
      mismatches++;
      if (examples.length < 3) examples.push({ kind: c.kind, request: c.request, expected, got });
    }
  }
  const decide = (c: MixCase) => engine.evaluate(c.request, c.policyType);
  warm(decide as (r: never) => unknown, w.cases);
  const tp = throughput(decide as (r: never) => unknown, w.cases);
  const dps = tp.wall;
  const lat = latency(decide as (r: never) => unknown, w.cases, dps);
  console.log(
    JSON.stringify({
      engine: engineName,
      workload: "mix",
      policies: n,
      decisionsPerSec: Math.round(dps),
      cpuDecisionsPerSec: Math.round(tp.cpu),
      p50us: round(lat.p50us, 3),
      p99us: round(lat.p99us, 3),
      buildMs: round(buildMs, 1),
      heapMB: round(heapMB, 1),
      checked,
      mismatches,
      latencyBatch: lat.batch,
      ...(examples.length > 0 ? { mismatchExamples: examples } : {}),
    }),
  );
}

if (workloadName === "mix") await runMix();
else await runTables();
