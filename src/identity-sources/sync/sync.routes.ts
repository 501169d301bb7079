import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Actor } from "../../auth/actor.ts";
import { IdParams, Page, PageQuery } from "../../http/schemas.ts";
import type { Db } from "../../storage/db.ts";
import { identitySourceIn } from "../identity-sources.service.ts";
import { getSyncRun, listSyncRuns, startSync } from "./sync-runs.ts";

const Counts = Type.Record(Type.String(), Type.Integer());

const SyncRun = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    sourceId: Type.String({ format: "uuid" }),
    mode: Type.Union([Type.Literal("full"), Type.Literal("incremental")]),
    dryRun: Type.Boolean(),
    trigger: Type.Union([Type.Literal("api"), Type.Literal("schedule"), Type.Literal("cli")]),
    status: Type.Union([Type.Literal("running"), Type.Literal("succeeded"), Type.Literal("failed")]),
    phase: Type.String({ description: "`reading`, `planning`, `applying`, `done`" }),
    progress: Type.Record(Type.String(), Type.Unknown(), { description: "Entries read so far" }),
    counts: Counts,
    changes: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: "The first 1,000 changes" }),
    conflicts: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    error: Type.Union([Type.String(), Type.Null()]),
    startedAt: Type.String({ format: "date-time" }),
    finishedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    durationMs: Type.Union([Type.Integer(), Type.Null()]),
  },
  { title: "SyncRun" },
);

/**
 * `/v1/identity-sources/{id}/sync` and `/sync-runs`: run a source's sync now (or preview it), and
 * read its runs, including the progress of one that is running. `onApplied` catches this
 * process's decisions up after a run that runs past the response (the write hook cannot).
 */
export function identitySyncRoutes(db: Db, onApplied: () => Promise<void>): FastifyPluginAsyncTypebox {
  return async (app) => {
    const sourceIn = (actor: Actor, id: string) => identitySourceIn(db.kysely, actor, id);

    app.post(
      "/v1/identity-sources/:id/sync",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["identity-sources"],
          summary: "Sync an identity source now, or preview the sync",
          description:
            "Starts a run and answers 202 with it (follow it at `sync-runs/{runId}`); with `wait=true` or `dryRun=true` answers 200 with the finished run. A dry run reads the directory and reports what a full run would create, update, disable, add and remove, writing nothing. 409 SYNC_RUNNING while another run of the source (in any server process) holds its lock.",
          params: IdParams,
          querystring: Type.Object({
            dryRun: Type.Boolean({ default: false }),
            wait: Type.Boolean({ default: false, description: "Answer when the run has finished" }),
            mode: Type.Union([Type.Literal("auto"), Type.Literal("full"), Type.Literal("incremental")], {
              default: "auto",
              description: "`auto`: full when the last full run is older than `fullSyncEvery`",
            }),
          }),
          response: { 200: SyncRun, 202: SyncRun },
        },
      },
      async (request, reply) => {
        const row = await sourceIn(request.actor, request.params.id);
        const { dryRun, wait, mode } = request.query;
        const started = await startSync({ db, onApplied }, row, {
          dryRun,
          trigger: "api",
          mode,
          ctx: auditContextOf(request),
        });
        if (!started) throw new Error("sync refused to start");
        reply.header("location", `/v1/identity-sources/${row.id}/sync-runs/${started.run.id}`);
        if (dryRun || wait) return reply.code(200).send(await started.done);
        started.done.catch((err) => request.log.error({ err }, "identity sync failed"));
        return reply.code(202).send(started.run);
      },
    );

    app.get(
      "/v1/identity-sources/:id/sync-runs",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "List an identity source's sync runs, newest first",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: Page(SyncRun, "SyncRunPage") },
        },
      },
      async (request) => {
        await sourceIn(request.actor, request.params.id);
        return listSyncRuns(db, request.params.id, request.query);
      },
    );

    app.get(
      "/v1/identity-sources/:id/sync-runs/:runId",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "Get a sync run, with its progress while it runs",
          params: Type.Object({ id: Type.String({ format: "uuid" }), runId: Type.String({ format: "uuid" }) }),
          response: { 200: SyncRun },
        },
      },
      async (request) => {
        await sourceIn(request.actor, request.params.id);
        return getSyncRun(db, request.params.id, request.params.runId);
      },
    );
  };
}
