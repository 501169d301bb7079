import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type { Figures } from "./measure.ts";

/** autocannon ships no types: the part of its API used here. */
type Cannon = (options: Record<string, unknown>) => EventEmitter & PromiseLike<unknown>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;

/** One kind of request to repeat: `path` and `body` get the request's sequence number. */
export interface CannonRequest {
  method: "GET" | "POST";
  path: (i: number) => string;
  body?: (i: number) => unknown;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * Sends `amount` requests over `connections` keep-alive connections with autocannon (a much
 * lighter client than `fetch`, so the client takes less of the machine from the server), timing
 * each response; any status other than `expect` counts as an error.
 */
export async function cannon(
  base: string,
  headers: Record<string, string>,
  request: CannonRequest,
  amount: number,
  connections: number,
  expect: number,
): Promise<Figures> {
  let sent = 0;
  let errors = 0;
  const latencies: number[] = [];
  // autocannon ends a fixed-amount run at its next 1 s sampling tick, so its `duration` is the
  // run rounded up to whole seconds (8,000 requests in 4.2 s read as 1,600/s, not 1,905/s); the
  // rate is taken from the first request sent to the last response received instead.
  let firstSentAt = 0;
  let lastAnsweredAt = 0;
  const instance = autocannon({
    url: base,
    connections,
    amount,
    headers,
    timeout: 60,
    requests: [
      {
        method: request.method,
        setupRequest: (req: Record<string, unknown>) => {
          if (sent === 0) firstSentAt = performance.now();
          const i = sent++;
          return {
            ...req,
            path: request.path(i),
            ...(request.body ? { body: JSON.stringify(request.body(i)) } : {}),
          };
        },
      },
    ],
  });
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    lastAnsweredAt = performance.now();
    if (statusCode !== expect) errors++;
  });
  const result = (await instance) as unknown as { errors: number; timeouts: number };
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  const seconds = (lastAnsweredAt - firstSentAt) / 1000;
  return {
    requests: latencies.length,
    errors: errors + result.errors + Math.max(0, amount - latencies.length),
    seconds: round(seconds),
    perSecond: Math.round(latencies.length / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
  };
}
