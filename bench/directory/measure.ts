/** Latency figures of one measured operation. */
export interface Figures {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * Runs `total` requests with `concurrency` clients, each timing its own requests, and reports
 * throughput and latency percentiles. `request(i)` returns the response status; any status other
 * than `expect` counts as an error (and is reported, never hidden).
 */
export async function measure(
  total: number,
  concurrency: number,
  request: (i: number) => Promise<number>,
  expect: number,
): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const status = await request(i).catch(() => -1);
      latencies.push(performance.now() - t0);
      if (status !== expect) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    requests: total,
    errors,
    seconds: round(seconds),
    perSecond: Math.round(total / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
  };
}
