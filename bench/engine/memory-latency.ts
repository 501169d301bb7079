/**
 * This machine's cost of one dependent random load, by working-set size: a pointer chase through
 * a random cyclic permutation of cache lines (one Int32 per 64-byte line), so every load waits for
 * the one before it and the hardware prefetcher cannot guess the next line. It is the physical
 * floor under the 1k → 100k fall-off target of bench:engine: a decision about one of 100,000
 * resources must read at least one line that is specific to that resource, and 100,000 resources'
 * lines do not fit in the per-core L2, so at 100k every decision pays at least one such load on top
 * of what it costs at 1k. Prints one JSON object `{"sizesMB": [...], "nsPerLoad": [...]}`.
 *   node bench/engine/memory-latency.ts
 */
import { mulberry32 } from "../../test/support/seeded-random.ts";

const SIZES_MB = [0.25, 1, 4, 16, 64];
const STEPS = 4_000_000;

/** Nanoseconds per dependent load over a random cycle through `mb` megabytes of cache lines. */
export function chaseNs(mb: number, steps = STEPS): number {
  const lines = Math.floor((mb * 1024 * 1024) / 64);
  const next = new Int32Array(lines * 16);
  const order = Array.from({ length: lines }, (_, i) => i);
  const rnd = mulberry32(7);
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let i = 0; i < lines; i++) next[order[i] * 16] = order[(i + 1) % lines] * 16;
  let p = 0;
  for (let i = 0; i < steps; i++) p = next[p]; // warm: pages faulted in, caches in steady state
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) p = next[p];
  const ns = Number(process.hrtime.bigint() - t0) / steps;
  if (p < 0) throw new Error("unreachable: keeps the chase live");
  return Number(ns.toFixed(1));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify({ sizesMB: SIZES_MB, nsPerLoad: SIZES_MB.map((mb) => chaseNs(mb)) }));
}
