import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Db } from "../storage/db.ts";
import { accessRoutes } from "./access.routes.ts";
import { decisionLogRoutes } from "./decision-log.routes.ts";
import { decisionRoutes } from "./decisions.routes.ts";
import { createDecisionRuntime, type DecisionRuntime } from "./runtime.ts";

export { type ChangeFeed, startChangeFeed } from "./change-feed.ts";
export { pruneDecisionLog } from "./decision-audit.ts";
export type { DecisionRuntime } from "./runtime.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** Live engines, directory cache and decision-audit writer (see src/decisions/). */
    decisions: DecisionRuntime;
  }
}

// Writes answered by other domains that this process must see in its next decision.
const READ_ONLY_PREFIXES = ["/v1/decisions", "/v1/audit", "/service/", "/metrics", "/health"];

/**
 * Installs the decision domain on the root app: its runtime (`app.decisions`), its routes, and
 * a root `onSend` hook that, after any successful write of another domain, clears the directory
 * cache and catches the loaded engines up before the response leaves. That gives
 * read-your-writes within a process on both databases; other processes learn through
 * LISTEN/NOTIFY (`startChangeFeed`). Call it before the other domains register their routes, so
 * the hook covers them.
 */
export async function installDecisions(
  app: FastifyInstance,
  db: Db,
  registry: Registry | undefined,
): Promise<DecisionRuntime> {
  const runtime = createDecisionRuntime(db, registry);
  app.decorate("decisions", runtime);
  // Callback style: no promise per request on the hot path, which is almost always a read.
  app.addHook("onSend", (request, reply, payload, done) => {
    const m = request.method;
    if (m === "GET" || m === "HEAD" || m === "OPTIONS" || reply.statusCode >= 400) return done(null, payload);
    const url = request.url;
    for (const prefix of READ_ONLY_PREFIXES) if (url.startsWith(prefix)) return done(null, payload);
    runtime.afterLocalWrite().then(
      () => done(null, payload),
      (err) => {
        // The write committed; the safety poll and notifications will catch the engines up.
        request.log.warn({ err }, "engines not refreshed after a write");
        done(null, payload);
      },
    );
  });
  app.addHook("onClose", async () => {
    await runtime.audit.stop();
  });
  await app.register(decisionRoutes(runtime));
  await app.register(accessRoutes(runtime));
  await app.register(decisionLogRoutes(db.kysely));
  return runtime;
}
