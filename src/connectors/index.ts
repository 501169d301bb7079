import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Config } from "../config/schema.ts";
import type { Db } from "../storage/db.ts";
import { connectorRoutes } from "./connectors.routes.ts";
import { ConnectorRuntime } from "./runtime.ts";

export type { ConnectorRuntime, DeliveryWait } from "./runtime.ts";

/**
 * Registers `/v1/connectors` and the process's connector runtime: workers start when the app is
 * ready and stop when it closes. Returns the runtime for the routes that wait on deliveries (Nx1).
 */
export async function installConnectors(
  app: FastifyInstance,
  db: Db,
  config: Config,
  registry?: Registry,
): Promise<ConnectorRuntime> {
  const runtime = new ConnectorRuntime(
    db,
    {
      workers: config.connectorWorkers,
      retry: { maxAttempts: config.connectorMaxAttempts, baseDelayMs: 500, maxDelayMs: config.connectorRetryMaxMs },
      reconcileSeconds: config.connectorReconcileSeconds,
    },
    app.log,
    registry,
  );
  await app.register(connectorRoutes(db, runtime));
  app.addHook("onReady", (done) => {
    runtime.start();
    done();
  });
  app.addHook("preClose", (done) => {
    runtime.stop().then(() => done(), done);
  });
  return runtime;
}
