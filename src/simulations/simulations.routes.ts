import { createHash } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { RangerPolicy } from "../engine/index.ts";
import { requireService, serviceOfPolicy } from "../policies/policies.routes.ts";
import { applyChanges, type ChangeItem, deletePolicy } from "../policies/policies.service.ts";
import type { Db } from "../storage/db.ts";
import { zoneAdmission } from "../zones/zone-admins.ts";
import { captureWrite } from "./capture.ts";
import { SimulationReport, SimulationRequest } from "./simulations.schemas.ts";
import { simulate } from "./simulations.service.ts";

const ServiceParams = Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) });

/**
 * `POST /v1/services/{service}/simulations`: what a draft (policy creations, updates, deletions,
 * directory changes) would do, without doing it (docs/simulation.md). The draft's policy changes
 * run through the policy service in a transaction that is rolled back, so they are validated and
 * refused exactly as the real writes would be.
 */
export function simulationRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/v1/services/:service/simulations",
      {
        config: { ability: "policy.write", delegatedAdmission: zoneAdmission(db.kysely, "policy.write") },
        schema: {
          tags: ["policies"],
          summary: "Simulate a policy change",
          description:
            "Replays the decision log's distinct requests against the draft, lists who can access the resources it touches before and after, and says whether it grants any principal an access it did not have (with counterexamples). Writes nothing. A draft policy that a write would refuse is refused the same way (same error, field under `body.policies`).",
          params: ServiceParams,
          body: SimulationRequest,
          response: { 200: SimulationReport },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const target = await requireService(db.kysely, request.params.service);
        const ctx = auditContextOf(request);
        // a tag policy of the draft goes to the linked tag service (the policy's `service` names it),
        // whose changes reach this service's change log as deltas of their own
        const tagService = (await request.server.decisions.engines.get(target.service.name)).tag?.name;
        const tagTarget = tagService ? await requireService(db.kysely, tagService) : null;
        const targetOf = (p: unknown) =>
          tagTarget && (p as { service?: unknown }).service === tagTarget.service.name ? tagTarget : target;
        const creates = (body.policies?.create ?? []).map((p, i) => ({
          target: targetOf(p),
          item: { policy: p as RangerPolicy, mode: "create" as const, field: `body.policies.create[${i}]` },
        }));
        const updates = (body.policies?.update ?? []).map((u, i) => ({
          target: targetOf(u.policy),
          item: {
            policy: u.policy as RangerPolicy,
            mode: "update" as const,
            id: u.id,
            field: `body.policies.update[${i}].policy`,
          },
        }));
        const captured = await captureWrite(db, async (tx) => {
          for (const t of tagTarget ? [target, tagTarget] : [target]) {
            const items: ChangeItem[] = [...creates, ...updates].filter((c) => c.target === t).map((c) => c.item);
            if (items.length === 0) continue;
            const outcomes = await applyChanges(tx, ctx, t, items);
            const failed = outcomes.find((o) => o.status === "failed");
            if (failed?.error) throw failed.error;
          }
          for (const id of body.policies?.delete ?? []) {
            const owner = await serviceOfPolicy(tx, id).catch(() => target);
            await deletePolicy(tx, ctx, owner.service.id === tagTarget?.service.id ? owner : target, id);
          }
        });
        const controller = new AbortController();
        reply.raw.once("close", () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        return simulate(
          request.server.decisions,
          db.kysely,
          target.service.name,
          captured.get(target.service.name) ?? [],
          body.directory,
          {
            replay: body.replay?.enabled !== false,
            days: body.replay?.days,
            limit: body.replay?.limit,
            cursor: body.replay?.cursor,
            maxChanges: body.replay?.maxChanges,
            maxResources: body.exposure?.maxResources,
            maxPrincipals: body.noNewAccess?.maxPrincipals,
            embedded: db.kind === "embedded",
            draftKey: draftKeyOf(target.service.name, body),
          },
          controller.signal,
        ) as never;
      },
    );
  };
}

/** The draft as sent, without the replay cursor: continuation pages of one simulation share it. */
function draftKeyOf(service: string, body: { replay?: { cursor?: string | undefined } | undefined }): string {
  const replay = body.replay ? { ...body.replay, cursor: undefined } : undefined;
  return createHash("sha256")
    .update(JSON.stringify([service, { ...body, replay }]))
    .digest("base64url");
}
