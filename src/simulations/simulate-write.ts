import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { Type } from "typebox";
import type { Db } from "../storage/db.ts";
import { rollbackTransaction, WriteCaptured } from "./capture.ts";
import { simulate } from "./simulations.service.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The route writes policies through `writeTransaction` and answers `?simulate=true` with the
     * simulation of its change instead of writing (src/simulations/simulate-write.ts).
     */
    simulatable?: boolean;
  }
}

/** The `simulate` query parameter added to every simulatable route. */
export const SimulateParam = Type.Optional(
  // the literals too: some routes validate their query without type coercion (Nx1)
  Type.Union([Type.Boolean(), Type.Literal("true"), Type.Literal("false")], {
    description:
      "`true`: write nothing and answer the simulation of this change (200, a SimulationReport as `POST /v1/services/{service}/simulations` answers it)",
  }),
);

/** Whether the request asks for a simulation instead of the write. */
export function isSimulation(request: Pick<FastifyRequest, "query"> | object): boolean {
  const value = (request as { query?: { simulate?: unknown } }).query?.simulate;
  return value === true || value === "true";
}

/**
 * The transaction runner of a simulatable write route: the database's own, or with
 * `?simulate=true` one that runs the write as usual and rolls it back (capture.ts), so the route's
 * own code validates the change and produces its deltas, and nothing stays.
 */
export function writeTransaction(db: Db, request: Pick<FastifyRequest, "query"> | object): Db["transaction"] {
  return isSimulation(request) ? rollbackTransaction(db) : (fn) => db.transaction(fn);
}

/** Adds `simulate` to a route's query schema (a TypeBox object schema, or none). */
function withSimulateParam(querystring: unknown): unknown {
  if (querystring === undefined) return Type.Object({ simulate: SimulateParam });
  const qs = querystring as { type?: string; properties?: Record<string, unknown> };
  if (qs.type !== "object") return querystring;
  return { ...qs, properties: { ...qs.properties, simulate: SimulateParam } };
}

async function answerSimulation(
  db: Db,
  request: FastifyRequest,
  reply: FastifyReply,
  captured: WriteCaptured,
): Promise<FastifyReply> {
  const params = request.params as { service?: string } | undefined;
  const names = [...captured.deltas.keys()];
  // the route's service when the write changed it, else the first service whose log it wrote
  // (a tag policy change reaches its linked services' logs)
  const name = params?.service !== undefined && captured.deltas.has(params.service) ? params.service : names[0];
  const runtime = request.server.decisions;
  if (name === undefined) {
    // the write changed no policy (an unchanged upsert): an empty draft on the route's service
    const report = params?.service
      ? await simulate(runtime, db.kysely, params.service, [], undefined, {
          embedded: db.kind === "embedded",
        })
      : null;
    return reply
      .code(200)
      .type("application/json")
      .send(JSON.stringify(report ?? { unchanged: true }));
  }
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const report = await simulate(
    runtime,
    db.kysely,
    name,
    captured.deltas.get(name) ?? [],
    undefined,
    { embedded: db.kind === "embedded" },
    controller.signal,
  );
  return reply.code(200).type("application/json").send(JSON.stringify(report));
}

/**
 * Makes every route registered after it with `config.simulatable` answer `?simulate=true`: adds
 * the query parameter to its schema and turns the `WriteCaptured` its rolled-back write throws into
 * the simulation answer. Install before the routes it covers.
 */
export function installSimulatableRoutes(app: FastifyInstance, db: Db): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    if (route.config?.simulatable !== true) return;
    if (route.schema) route.schema = { ...route.schema, querystring: withSimulateParam(route.schema.querystring) };
    const handler = route.handler;
    route.handler = async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      try {
        return await handler.call(this, request, reply);
      } catch (err) {
        if (err instanceof WriteCaptured) return answerSimulation(db, request, reply, err);
        throw err;
      }
    };
  });
}
