import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Db } from "../storage/db.ts";
import { RequestMetrics } from "./request-metrics.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** Per-route request counts and latency, for paths that answer outside Fastify's hooks (the decision fast lane). */
    requestMetrics: RequestMetrics;
  }
}

/**
 * Prometheus metrics of one app: request counts and latency per route, database connections and
 * the process. A registry per app keeps tests that build many apps independent.
 */
export function installMetrics(app: FastifyInstance, db: Db): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gatehouse_" });
  const requests = new RequestMetrics();
  requests.register(registry);
  app.decorate("requestMetrics", requests);
  new Gauge({
    name: "gatehouse_db_connections",
    help: "Database connections by state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const stats = db.poolStats();
      this.set({ state: "total" }, stats.total);
      this.set({ state: "idle" }, stats.idle);
      this.set({ state: "waiting" }, stats.waiting);
    },
  });
  const embeddedMemoryBytes = db.embeddedMemoryBytes?.bind(db);
  if (embeddedMemoryBytes)
    new Gauge({
      name: "gatehouse_embedded_db_memory_bytes",
      help: "WebAssembly memory of the embedded database (PGlite); grows with the largest value handled, never shrinks",
      registers: [registry],
      collect() {
        this.set(embeddedMemoryBytes());
      },
    });
  // Callback style: no promise per request.
  app.addHook("onResponse", (request, reply, done) => {
    requests.record(
      request.method,
      request.routeOptions.url ?? "unmatched",
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.get(
    "/metrics",
    {
      config: { ability: "public" },
      schema: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        produces: ["text/plain"],
        response: { 200: { type: "string" } },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
  return registry;
}
