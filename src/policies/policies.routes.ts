import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { RangerPolicy } from "../engine/types.ts";
import {
  type AppError,
  Forbidden,
  PolicyImportInvalid,
  PolicyNotFound,
  PolicyVersionNotFound,
  ServiceNotFound,
} from "../errors.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { Page, PageQuery } from "../http/schemas.ts";
import { findServiceWithDef, type ServiceWithDef } from "../service-defs/service-defs.store.ts";
import { writeTransaction } from "../simulations/simulate-write.ts";
import type { Db, Queryable } from "../storage/db.ts";
import {
  requireZoneVisible,
  searchableZones,
  type ZoneCallerActor,
  zoneAdmission,
  zoneWriteAuthority,
} from "../zones/zone-admins.ts";
import { exportPolicies, type ImportReport, importPolicies } from "./import-export.ts";
import { lookAhead } from "./look-ahead.ts";
import {
  Int32Id,
  Policy,
  PolicyIdParams,
  PolicyInput,
  PolicyPatch,
  ServiceParams,
  ServicePolicyParams,
} from "./policies.schemas.ts";
import { searchPolicies } from "./policies.search.ts";
import { applyOne, deletePolicy, policyNotFoundIn, present, requirePolicy } from "./policies.service.ts";
import { getPolicyRecord } from "./policies.store.ts";
import type { MatchScope } from "./resource-filter.ts";
import { resourceValueRoutes } from "./resource-values.ts";
import { diffWithCurrent, getVersion, listVersions, revertPolicy } from "./versions.ts";

/** Loads a service with its def or throws SERVICE_NOT_FOUND. */
export async function requireService(db: Queryable, name: string): Promise<ServiceWithDef> {
  const found = await findServiceWithDef(db, name);
  if (!found) throw ServiceNotFound(`service \`${name}\` not found`);
  return found;
}

/** The service of policy `id`, or POLICY_NOT_FOUND. */
export async function serviceOfPolicy(db: Queryable, id: number): Promise<ServiceWithDef> {
  const row = await db
    .selectFrom("policies as p")
    .innerJoin("services as s", "s.id", "p.service_id")
    .select("s.name")
    .where("p.id", "=", id)
    .executeTakeFirst();
  if (!row) throw policyNotFound(id);
  return requireService(db, row.name);
}

/**
 * The POLICY_NOT_FOUND of the routes that take a bare policy id; also their answer to a zone
 * administrator or auditor for a policy it may not read.
 */
export function policyNotFound(id: number) {
  return PolicyNotFound(`policy ${id} not found`);
}

const SearchQuery = Type.Intersect([
  PageQuery,
  Type.Object(
    {
      policyName: Type.Optional(Type.String({ description: "Exact name" })),
      policyNamePartial: Type.Optional(Type.String({ description: "Case-insensitive part of the name" })),
      policyLabel: Type.Optional(Type.String()),
      user: Type.Optional(Type.String({ description: "Policies with an item naming this user" })),
      group: Type.Optional(Type.String()),
      role: Type.Optional(Type.String()),
      policyType: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
      isEnabled: Type.Optional(Type.Boolean()),
      zoneName: Type.Optional(Type.String()),
      resourceMatchScope: Type.Optional(
        Type.Union([Type.Literal("self"), Type.Literal("ancestor"), Type.Literal("self_or_ancestor")], {
          description: "For `resource:` filters: policies at that level (default), above it, or both",
        }),
      ),
    },
    {
      patternProperties: { "^resource:[A-Za-z0-9_.-]+$": { type: "string" } },
      description: "Plus `resource:<name>=<value>` per resource, e.g. `resource:schema=sales`",
    },
  ),
]);

const VersionInfo = Type.Object(
  {
    version: Type.Integer(),
    changeType: Type.Union([Type.Literal("create"), Type.Literal("update")]),
    changedBy: Type.Union([Type.String(), Type.Null()]),
    changedAt: Type.String({ format: "date-time" }),
    current: Type.Boolean(),
  },
  { title: "PolicyVersion" },
);

const ImportReportSchema = Type.Object(
  {
    mode: Type.String(),
    dryRun: Type.Boolean(),
    applied: Type.Boolean({ description: "False on a dry run or when any policy failed (all or nothing)" }),
    created: Type.Array(Type.String()),
    updated: Type.Array(Type.String()),
    unchanged: Type.Array(Type.String()),
    deleted: Type.Array(Type.String()),
    failed: Type.Array(
      Type.Object({
        index: Type.Integer(),
        name: Type.String(),
        error: Type.String(),
        details: Type.Array(Type.Object({ field: Type.String(), rule: Type.String(), message: Type.String() })),
      }),
    ),
  },
  { title: "PolicyImportReport" },
);

class RollBack extends Error {}

/**
 * The zone of policy `id` for read checks: the stored policy's, or for a deleted one (whose
 * history outlives it) the zone of its latest version.
 */
async function zoneOfPolicyHistory(db: Queryable, id: number): Promise<string> {
  const record = await getPolicyRecord(db, id);
  if (record) return record.zoneName;
  const latest = await db
    .selectFrom("policy_versions")
    .select("body")
    .where("policy_id", "=", id)
    .orderBy("version", "desc")
    .limit(1)
    .executeTakeFirst();
  return String((latest?.body as RangerPolicy | undefined)?.zoneName ?? "");
}

/**
 * Refuses (as `missing()`, the answer for an unknown id) a caller whose zone rights do not cover the
 * zone of policy `id`'s history: the version, versions and diff routes share this check.
 */
function requireHistoryVisible(db: Db, actor: ZoneCallerActor, id: number, missing: () => AppError): Promise<void> {
  return requireZoneVisible(db.kysely, actor, "policy.read", () => zoneOfPolicyHistory(db.kysely, id), missing);
}

/** Ranger policy administration under `/v1/services/{service}/policies` and `/v1/policies/{id}`. */
export function policyRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ["policies"];
    // Zone administrators (writes) and auditors (reads) reach these routes without the ability;
    // writes are then checked zone by zone in the policy service, reads below.
    const read = { ability: "policy.read", delegatedAdmission: zoneAdmission(db.kysely, "policy.read") } as const;
    const write = { ability: "policy.write", delegatedAdmission: zoneAdmission(db.kysely, "policy.write") } as const;
    await app.register(resourceValueRoutes(db));

    app.get(
      "/v1/services/:service/policies",
      {
        config: read,
        schema: {
          tags,
          summary: "Search policies",
          description:
            "Filters combine with AND. `resource:<name>=<value>` matches like the engine: wildcards and excludes in policies are honoured.",
          params: ServiceParams,
          querystring: SearchQuery,
          response: { 200: Page(Policy, "PolicyPage") },
        },
      },
      async (request) => {
        const target = await requireService(db.kysely, request.params.service);
        const q = request.query as Record<string, unknown> & typeof request.query;
        const resources: Record<string, string> = {};
        for (const [key, value] of Object.entries(q)) {
          if (key.startsWith("resource:")) resources[key.slice("resource:".length)] = String(value);
        }
        const afterId = q.cursor ? Number(decodeCursor<{ id: number }>(q.cursor, ["id"]).id) : null;
        const zoneNames = await searchableZones(db.kysely, request.actor, q.zoneName);
        const { records, total } = await searchPolicies(
          db.kysely,
          target,
          {
            policyName: q.policyName,
            policyNamePartial: q.policyNamePartial,
            policyLabel: q.policyLabel,
            user: q.user,
            group: q.group,
            role: q.role,
            policyType: q.policyType,
            isEnabled: q.isEnabled,
            zoneName: q.zoneName,
            zoneNames,
            resources,
            resourceMatchScope: q.resourceMatchScope as MatchScope | undefined,
          },
          q.limit + 1,
          afterId,
        );
        const page = pageOf(records, q.limit, (r) => ({ id: r.id }));
        return { items: page.rows.map((r) => present(r, target) as never), nextCursor: page.nextCursor, total };
      },
    );

    app.post(
      "/v1/services/:service/policies",
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Create a policy",
          description:
            "Validated against the service-def. 409 POLICY_NAME_TAKEN for a taken name, 409 POLICY_DUPLICATE_RESOURCES when a policy of the same type and zone covers the same resources (meta names it).",
          params: ServiceParams,
          body: PolicyInput,
          response: { 201: Policy },
        },
      },
      async (request, reply) => {
        const early = lookAhead(db, () => requireService(db.kysely, request.params.service));
        const outcome = await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await (early ?? requireService(tx, request.params.service));
          return applyOne(tx, auditContextOf(request), target, {
            policy: request.body as RangerPolicy,
            mode: "create",
          });
        });
        return reply
          .code(201)
          .header("location", `/v1/services/${request.params.service}/policies/${outcome.id}`)
          .send(outcome.policy as never);
      },
    );

    app.get(
      "/v1/services/:service/policies/:id",
      {
        config: read,
        schema: { tags, summary: "Get a policy", params: ServicePolicyParams, response: { 200: Policy } },
      },
      async (request) => {
        const target = await requireService(db.kysely, request.params.service);
        const record = await requirePolicy(db.kysely, target, request.params.id);
        await requireZoneVisible(db.kysely, request.actor, "policy.read", record.zoneName, () =>
          policyNotFoundIn(target, record.id),
        );
        return present(record, target) as never;
      },
    );

    const update =
      (mode: "replace" | "patch" | "enable" | "disable") =>
      async (
        request: { params: { service: string; id: number }; body?: unknown } & Parameters<typeof auditContextOf>[0],
      ) =>
        writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await requireService(tx, request.params.service);
          const current = await requirePolicy(tx, target, request.params.id);
          await requireZoneVisible(tx, request.actor, "policy.write", current.zoneName, () =>
            policyNotFoundIn(target, current.id),
          );
          let policy: RangerPolicy;
          if (mode === "replace") policy = request.body as RangerPolicy;
          else if (mode === "patch") policy = { ...current.body, ...(request.body as RangerPolicy) };
          else policy = { ...current.body, isEnabled: mode === "enable" };
          const outcome = await applyOne(tx, auditContextOf(request), target, {
            policy,
            mode: "update",
            id: request.params.id,
          });
          return outcome.policy as never;
        });

    app.put(
      "/v1/services/:service/policies/:id",
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Replace a policy",
          description: "The whole policy; the policy type cannot change.",
          params: ServicePolicyParams,
          body: PolicyInput,
          response: { 200: Policy },
        },
      },
      update("replace"),
    );
    app.patch(
      "/v1/services/:service/policies/:id",
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Change some fields of a policy",
          description: "Top-level fields given replace the stored ones (item lists are replaced whole).",
          params: ServicePolicyParams,
          body: PolicyPatch,
          response: { 200: Policy },
        },
      },
      update("patch"),
    );
    for (const action of ["enable", "disable"] as const) {
      app.post(
        `/v1/services/:service/policies/:id/${action}`,
        {
          config: { ...write, simulatable: true },
          schema: {
            tags,
            summary: `${action === "enable" ? "Enable" : "Disable"} a policy`,
            params: ServicePolicyParams,
            response: { 200: Policy },
          },
        },
        update(action),
      );
    }
    app.delete(
      "/v1/services/:service/policies/:id",
      {
        config: { ...write, simulatable: true },
        schema: { tags, summary: "Delete a policy", params: ServicePolicyParams, response: { 204: Type.Null() } },
      },
      async (request, reply) => {
        await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await requireService(tx, request.params.service);
          await deletePolicy(tx, auditContextOf(request), target, request.params.id);
        });
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/v1/policies/:id",
      {
        config: read,
        schema: { tags, summary: "Get a policy by id", params: PolicyIdParams, response: { 200: Policy } },
      },
      async (request) => {
        const target = await serviceOfPolicy(db.kysely, request.params.id);
        const record = await getPolicyRecord(db.kysely, request.params.id);
        if (!record) throw policyNotFound(request.params.id);
        await requireZoneVisible(db.kysely, request.actor, "policy.read", record.zoneName, () =>
          policyNotFound(record.id),
        );
        return present(record, target) as never;
      },
    );
    app.get(
      "/v1/policies/:id/versions",
      {
        config: read,
        schema: {
          tags,
          summary: "List a policy's versions",
          description: "Newest first; `current` marks the stored one. History outlives a deleted policy.",
          params: PolicyIdParams,
          response: { 200: Type.Object({ items: Type.Array(VersionInfo) }) },
        },
      },
      async (request) => {
        const { id } = request.params;
        await requireHistoryVisible(db, request.actor, id, () => policyNotFound(id));
        return { items: await listVersions(db.kysely, id) };
      },
    );
    const VersionParams = Type.Object({ id: Int32Id, version: Int32Id });
    app.get(
      "/v1/policies/:id/versions/:version",
      {
        config: read,
        schema: {
          tags,
          summary: "Get one version of a policy",
          params: VersionParams,
          response: { 200: Type.Record(Type.String(), Type.Unknown()) },
        },
      },
      async (request) => {
        const { id, version } = request.params;
        await requireHistoryVisible(db, request.actor, id, () =>
          PolicyVersionNotFound(`policy ${id} has no version ${version}`),
        );
        return (await getVersion(db.kysely, id, version)) as never;
      },
    );
    app.get(
      "/v1/policies/:id/versions/:version/diff",
      {
        config: read,
        schema: {
          tags,
          summary: "Diff a version against the current policy",
          params: VersionParams,
          response: {
            200: Type.Object({
              from: Type.Integer(),
              to: Type.Integer(),
              changes: Type.Array(
                Type.Object({
                  path: Type.String({ description: "e.g. `policyItems[0].users`" }),
                  op: Type.Union([Type.Literal("added"), Type.Literal("removed"), Type.Literal("changed")]),
                  before: Type.Optional(Type.Unknown()),
                  after: Type.Optional(Type.Unknown()),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const { id, version } = request.params;
        await requireHistoryVisible(db, request.actor, id, () => policyNotFound(id));
        return diffWithCurrent(db.kysely, id, version);
      },
    );
    app.post(
      "/v1/policies/:id/revert",
      {
        config: write,
        schema: {
          tags,
          summary: "Restore an earlier version",
          description: "Writes the old body as a new version, validated like any update.",
          params: PolicyIdParams,
          body: Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
          response: { 200: Policy },
        },
      },
      async (request) =>
        db.transaction(async (tx) => {
          const target = await serviceOfPolicy(tx, request.params.id);
          await requireZoneVisible(
            tx,
            request.actor,
            "policy.write",
            async () => (await getPolicyRecord(tx, request.params.id))?.zoneName ?? "",
            () => policyNotFound(request.params.id),
          );
          return (await revertPolicy(
            tx,
            auditContextOf(request),
            target,
            request.params.id,
            request.body.version,
          )) as never;
        }),
    );

    app.get(
      "/v1/services/:service/policy-deltas",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "Policy deltas since a version",
          description:
            "Ranger `RangerPolicyDelta`s (changeType 0 create, 1 update, 2 delete) with `policiesVersion` above `sinceVersion`, oldest first: what the engine and plugins apply.",
          params: ServiceParams,
          querystring: Type.Object({
            sinceVersion: Type.Integer({ minimum: 0, default: 0 }),
            limit: Type.Integer({ minimum: 1, maximum: 10000, default: 1000 }),
          }),
          response: {
            200: Type.Object({
              serviceName: Type.String(),
              policyVersion: Type.Integer(),
              policyDeltas: Type.Array(
                Type.Object({
                  id: Type.Integer(),
                  changeType: Type.Integer(),
                  policiesVersion: Type.Integer(),
                  policy: Type.Record(Type.String(), Type.Unknown()),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const target = await requireService(db.kysely, request.params.service);
        const rows = await db.kysely
          .selectFrom("policy_deltas")
          .selectAll()
          .where("service_id", "=", target.service.id)
          .where("policies_version", ">", request.query.sinceVersion)
          .orderBy("policies_version")
          .orderBy("id")
          .limit(request.query.limit)
          .execute();
        return {
          serviceName: target.service.name,
          policyVersion: target.service.policyVersion,
          policyDeltas: rows.map((r) => ({
            id: r.id,
            changeType: r.change_type,
            policiesVersion: r.policies_version,
            policy: r.policy,
          })),
        };
      },
    );

    app.get(
      "/v1/services/:service/export",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "Export a service's policies (Ranger export format)",
          params: ServiceParams,
          response: {
            200: Type.Object(
              {
                metaDataInfo: Type.Record(Type.String(), Type.String()),
                policies: Type.Array(Policy),
                startIndex: Type.Integer(),
                pageSize: Type.Integer(),
                totalCount: Type.Integer(),
                resultSize: Type.Integer(),
                queryTimeMS: Type.Integer(),
              },
              { title: "PolicyExport" },
            ),
          },
        },
      },
      async (request, reply) => {
        const target = await requireService(db.kysely, request.params.service);
        const file = await exportPolicies(db.kysely, target, request.actor.name);
        reply.header("content-disposition", `attachment; filename="Ranger_Policies_${target.service.name}.json"`);
        return file as never;
      },
    );

    app.post(
      "/v1/services/:service/import",
      {
        config: write,
        bodyLimit: 64 * 1024 * 1024,
        schema: {
          tags,
          summary: "Import policies (Ranger export format)",
          description:
            "All or nothing. `mode=merge` creates and updates by name; `replace` also deletes the service's policies the file does not name. `dryRun=true` reports without changing anything.",
          params: ServiceParams,
          querystring: Type.Object({
            mode: Type.Union([Type.Literal("merge"), Type.Literal("replace")], { default: "merge" }),
            dryRun: Type.Boolean({ default: false }),
          }),
          body: Type.Object(
            { policies: Type.Array(Type.Record(Type.String(), Type.Unknown())) },
            { additionalProperties: true },
          ),
          response: { 200: ImportReportSchema },
        },
      },
      async (request) => {
        const { mode, dryRun } = request.query;
        if (mode === "replace" && (await zoneWriteAuthority(db.kysely, request.actor))) {
          throw Forbidden(
            `not allowed to import with \`mode=replace\`: it deletes policies across service \`${request.params.service}\`, which needs the ability \`policy.write\`; zone administrators import with \`mode=merge\``,
            { meta: { rule: "zoneAdmin" } },
          );
        }
        let report: ImportReport | undefined;
        try {
          await db.transaction(async (tx) => {
            const target = await requireService(tx, request.params.service);
            report = await importPolicies(
              tx,
              auditContextOf(request),
              target,
              request.body.policies as RangerPolicy[],
              mode,
            );
            if (dryRun || report.failed.length > 0) throw new RollBack();
          });
        } catch (err) {
          if (!(err instanceof RollBack)) throw err;
        }
        if (!report) throw PolicyImportInvalid("the import produced no report");
        return { ...report, dryRun, applied: !dryRun && report.failed.length === 0 };
      },
    );
  };
}
