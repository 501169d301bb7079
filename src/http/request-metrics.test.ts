import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS, RequestMetrics } from "./request-metrics.ts";

const observations: [string, string, number, number][] = [
  ["POST", "/v1/decisions", 200, 0.0004],
  ["POST", "/v1/decisions", 200, 0.0005],
  ["POST", "/v1/decisions", 400, 0.0031],
  ["GET", "/v1/decisions", 404, 0.2],
  ["GET", "/healthz", 200, 7],
  ["GET", "unmatched", 404, 0.001],
  ["POST", "/v1/decisions", 200, 0.012],
];

describe("RequestMetrics", () => {
  it("exposes exactly what prom-client's Counter and Histogram would for the same requests", async () => {
    const ours = new Registry();
    const metrics = new RequestMetrics();
    metrics.register(ours);
    const theirs = new Registry();
    const counter = new Counter({
      name: "gatehouse_http_requests_total",
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [theirs],
    });
    const histogram = new Histogram({
      name: "gatehouse_http_request_duration_seconds",
      help: "HTTP request latency by method and route",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS,
      registers: [theirs],
    });
    for (const [method, route, status, seconds] of observations) {
      metrics.record(method, route, status, seconds);
      counter.inc({ method, route, status: String(status) });
      histogram.observe({ method, route }, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('gatehouse_http_requests_total{method="POST",route="/v1/decisions",status="200"} 3');
    expect(text).toContain(
      'gatehouse_http_request_duration_seconds_bucket{le="0.0005",method="POST",route="/v1/decisions"} 2',
    );
  });

  it("starts over on reset", async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics();
    metrics.register(registry);
    metrics.record("GET", "/healthz", 200, 0.001);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain("/healthz");
  });
});
