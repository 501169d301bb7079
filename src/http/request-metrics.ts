import type { Metric, Registry } from "prom-client";

/** Latency buckets (seconds) of `gatehouse_http_request_duration_seconds`. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Series {
  labels: { method: string; route: string };
  /** Responses by status code. */
  statuses: Map<number, number>;
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  buckets: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * Request counts and latency per route, recorded with two map lookups and a few additions per
 * request, and turned into Prometheus series only when `/metrics` is scraped. prom-client's own
 * Counter and Histogram hash and validate a label object on every call, which on the decision
 * path cost more than the rest of the metrics put together. The exposition is the one those
 * classes produce: `gatehouse_http_requests_total{method,route,status}` (counter) and
 * `gatehouse_http_request_duration_seconds{method,route}` (histogram with `LATENCY_BUCKETS`).
 */
export class RequestMetrics {
  #routes = new Map<string, Map<string, Series>>();

  /** Counts one response. */
  record(method: string, route: string, status: number, seconds: number): void {
    let methods = this.#routes.get(route);
    if (methods === undefined) {
      methods = new Map();
      this.#routes.set(route, methods);
    }
    let series = methods.get(method);
    if (series === undefined) {
      series = {
        labels: { method, route },
        statuses: new Map(),
        buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      methods.set(method, series);
    }
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] as number)) bucket++;
    (series.buckets[bucket] as number)++;
    series.sum += seconds;
    series.count++;
  }

  /** Registers both metrics with `registry`. */
  register(registry: Registry): void {
    const requests = "gatehouse_http_requests_total";
    const latency = "gatehouse_http_request_duration_seconds";
    registry.registerMetric(
      this.#metric(requests, "HTTP requests by method, route and status", "counter", () => this.#counts()),
    );
    registry.registerMetric(
      this.#metric(latency, "HTTP request latency by method and route", "histogram", () => this.#latency(latency)),
    );
  }

  /** Forgets every observation (`registry.resetMetrics()`). */
  reset(): void {
    this.#routes = new Map();
  }

  *#series(): Generator<Series> {
    for (const methods of this.#routes.values()) yield* methods.values();
  }

  #counts(): MetricValue[] {
    const values: MetricValue[] = [];
    for (const s of this.#series()) {
      for (const [status, value] of s.statuses) values.push({ labels: { ...s.labels, status: String(status) }, value });
    }
    return values;
  }

  #latency(name: string): MetricValue[] {
    const values: MetricValue[] = [];
    for (const s of this.#series()) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i] as number;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", ...s.labels }, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
    }
    return values;
  }

  #metric(name: string, help: string, type: "counter" | "histogram", values: () => MetricValue[]): Metric {
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({ name, help, type, aggregator: "sum", values: values() }),
      reset: () => this.reset(),
    } as unknown as Metric;
  }
}
