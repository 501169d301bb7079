/**
 * Per-kind cost of the `mix` workload (access, `_any`, mask, row filter): CPU ns per decision for each
 * kind on its own, to see which one a change to the engine moves.
 *   node --expose-gc bench/engine/mix-kinds.ts [N] [rounds]
 */
import { cpuUsage } from "node:process";
import { loadGatehouse } from "./gatehouse.ts";
import { buildMixWorkload, type MixCase } from "./workload.ts";

const n = Number(process.argv[2] ?? 10000);
const rounds = Number(process.argv[3] ?? 5);
const w = buildMixWorkload(n);
const api = await loadGatehouse();
if ("missing" in api) throw new Error(api.missing);
const engine = api.build(w.input);
const kinds = ["access", "any", "mask", "rowfilter"] as const;
const byKind = new Map<string, MixCase[]>(kinds.map((k) => [k, w.cases.filter((c) => c.kind === k)]));
const cpuNs = () => {
  const u = cpuUsage();
  return (u.user + u.system) * 1000;
};
let sink = 0;
const run = (cases: MixCase[], reps: number) => {
  const t0 = cpuNs();
  for (let r = 0; r < reps; r++) for (const c of cases) if (engine.evaluate(c.request, c.policyType).isAllowed) sink++;
  return (cpuNs() - t0) / (reps * cases.length);
};
for (const k of kinds) run(byKind.get(k)!, 3);
const best = new Map<string, number>();
for (let r = 0; r < rounds; r++)
  for (const k of kinds) {
    const ns = run(byKind.get(k)!, 5);
    best.set(k, Math.min(best.get(k) ?? Infinity, ns));
  }
const all = w.cases.length;
let weighted = 0;
for (const k of kinds) weighted += best.get(k)! * byKind.get(k)!.length;
console.log(
  `mix ${n}: ${kinds.map((k) => `${k} ${best.get(k)!.toFixed(0)} ns (${byKind.get(k)!.length})`).join(", ")}; mean ${(weighted / all).toFixed(0)} ns = ${Math.round(1e9 / (weighted / all)).toLocaleString("en")} decisions/CPU-s${sink < 0 ? "!" : ""}`,
);
