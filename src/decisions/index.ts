import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { appendOnSend, isWriteRoute } from "../http/route-hooks.ts";
import type { Db } from "../storage/db.ts";
import { accessRoutes } from "./access.routes.ts";
import { decisionLogRoutes } from "./decision-log.routes.ts";
import { decisionRoutes } from "./decisions.routes.ts";
import { createDecisionRuntime, type DecisionRuntime, type DecisionRuntimeOptions } from "./runtime.ts";

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
const READ_ONLY_PREFIXES = ["/v1/decisions", "/v1/audit", "/service/", "/metrics", "/health", "/authz/"];

/**
 * Installs the decision domain on the root app: its runtime (`app.decisions`), its routes, and
 * an `onSend` hook on every write route of another domain that, after a successful write, clears
 * the directory cache and catches the loaded engines up before the response leaves. That gives
 * read-your-writes within a process on both databases; other processes learn through
 * LISTEN/NOTIFY (`startChangeFeed`). Call it before the other domains register their routes, so
 * the hook covers them (it is attached to each route as it is registered).
 */
export async function installDecisions(
  app: FastifyInstance,
  db: Db,
  registry: Registry | undefined,
  options: DecisionRuntimeOptions,
): Promise<DecisionRuntime> {
  const runtime = createDecisionRuntime(db, registry, options);
  app.decorate("decisions", runtime);
  // Only on routes that can write outside the read-only prefixes, so the decision path runs no
  // hook for it; callback style, so a failed or read request costs no promise.
  app.addHook("onRoute", (route) => {
    if (!isWriteRoute(route) || READ_ONLY_PREFIXES.some((prefix) => route.url.startsWith(prefix))) return;
    appendOnSend(route, (request, reply, payload, done) => {
      const m = request.method;
      if (m === "GET" || m === "HEAD" || m === "OPTIONS" || reply.statusCode >= 400) return done(null, payload);
      runtime.afterLocalWrite().then(
        () => done(null, payload),
        (err) => {
          // The write committed; the safety poll and notifications will catch the engines up.
          request.log.warn({ err }, "engines not refreshed after a write");
          done(null, payload);
        },
      );
    });
  });
  app.addHook("onClose", async () => {
    await runtime.audit.stop();
  });
  await app.register(decisionRoutes(runtime));
  await app.register(accessRoutes(runtime));
  await app.register(decisionLogRoutes(db.kysely));
  return runtime;
}
