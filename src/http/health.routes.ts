import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../storage/db.ts";
import { migrationsCurrent } from "../storage/migrate.ts";

const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });

/** `/healthz` (the process is up) and `/readyz` (the database answers and is migrated). */
export function healthRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/healthz",
      {
        config: { ability: "public" },
        schema: { tags: ["operations"], summary: "Liveness", response: { 200: Health } },
      },
      async () => ({ status: "ok" }),
    );
    app.get(
      "/readyz",
      {
        config: { ability: "public" },
        schema: { tags: ["operations"], summary: "Readiness", response: { 200: Health, 503: Health } },
      },
      async (_request, reply) => {
        const checks: Record<string, string> = {};
        try {
          await db.ping();
          checks.database = "ok";
          checks.migrations = (await migrationsCurrent(db)) ? "ok" : "pending";
        } catch (err) {
          checks.database = `unreachable: ${(err as Error).message}`;
        }
        const ready = Object.values(checks).every((c) => c === "ok") && "migrations" in checks;
        return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
      },
    );
  };
}
