import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { type AuditContext, auditContextOf } from "../../audit/audit.service.ts";
import type { RangerPolicy } from "../../engine/types.ts";
import { fieldError, PolicyInvalid, PolicyNotFound, ValidationFailed } from "../../errors.ts";
import { policyNotFound, requireService, serviceOfPolicy } from "../../policies/policies.routes.ts";
import { Policy, PolicyInput } from "../../policies/policies.schemas.ts";
import { searchPolicies } from "../../policies/policies.search.ts";
import { applyOne, deletePolicy, present, requirePolicy } from "../../policies/policies.service.ts";
import { candidateIds, findConflicting, type PolicyRecord } from "../../policies/policies.store.ts";
import { mergeAppliedPolicy } from "../../policies/ranger-merge.ts";
import { resourceSignature } from "../../policies/signature.ts";
import { listServices, type ServiceWithDef } from "../../service-defs/service-defs.store.ts";
import { writeTransaction } from "../../simulations/simulate-write.ts";
import type { Db, Queryable, Tx } from "../../storage/db.ts";
import {
  type PolicyAbility,
  requireZoneAdmin,
  requireZoneVisible,
  searchableZones,
  type ZoneCallerActor,
  zoneAdmission,
  zoneWriteAuthority,
} from "../../zones/zone-admins.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams } from "./params.ts";
import { type Paging, policySearchOf } from "./search-filter.ts";

export const RANGER_V2 = "/service/public/v2/api";
const tags = ["ranger-public-api"];
const OpenQuery = Type.Record(Type.String(), Type.String(), {
  description:
    "Ranger SearchFilter parameters (policyName, user, group, resource:<name>, polResource, policyNamePrefix, startIndex, pageSize, ...)",
});
const NamedParams = Type.Object({
  serviceName: Type.String({ minLength: 1, maxLength: 255 }),
  policyName: Type.String({ minLength: 1, maxLength: 255 }),
});
const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });
const ZoneQuery = Type.Object(
  { zoneName: Type.Optional(Type.String({ maxLength: 255 })) },
  { additionalProperties: true },
);
const CreateQuery = Type.Object(
  {
    updateIfExists: Type.Optional(Type.Boolean()),
    mergeIfExists: Type.Optional(Type.Boolean()),
    deleteIfExists: Type.Optional(Type.Boolean()),
    policyMatchingAlgorithm: Type.Optional(Type.String({ description: "`matchByName`, or by resource (default)" })),
  },
  { additionalProperties: true },
);
const DeleteQuery = Type.Object(
  {
    servicename: Type.String({ minLength: 1 }),
    policyname: Type.String({ minLength: 1 }),
    zoneName: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const Policies = Type.Array(Policy);

/** The policy of `target` named `name` in `zone`, if any. */
async function byName(db: Queryable, target: ServiceWithDef, name: string, zone: string) {
  const found = await findConflicting(db, target.service.id, [zone], [name], []);
  return found.find((r) => r.name === name && r.zoneName === zone);
}

/** The enabled policy of `target` with exactly `policy`'s resources (Ranger's exact match), if any. */
async function byResources(
  db: Queryable,
  target: ServiceWithDef,
  policy: RangerPolicy,
): Promise<PolicyRecord | undefined> {
  const signature = resourceSignature({ ...policy, isEnabled: true }, "");
  const [found] = await findConflicting(db, target.service.id, [], [], [signature]);
  return found;
}

/** The POLICY_NOT_FOUND of the routes that name a policy by service and name. */
function namedPolicyNotFound(name: string, target: ServiceWithDef) {
  return PolicyNotFound(`policy \`${name}\` not found in service \`${target.service.name}\``);
}

/**
 * The policy of `target` named `name` in `zone`, or POLICY_NOT_FOUND; a zone administrator or
 * auditor that may not read the zone's policies gets the same answer, before any lookup.
 */
async function requireNamed(
  db: Queryable,
  actor: ZoneCallerActor,
  ability: PolicyAbility,
  target: ServiceWithDef,
  name: string,
  zone: string,
): Promise<PolicyRecord> {
  await requireZoneVisible(db, actor, ability, zone, () => namedPolicyNotFound(name, target));
  const found = await byName(db, target, name, zone);
  if (!found) throw namedPolicyNotFound(name, target);
  return found;
}

/**
 * The policy `id` and its service, or POLICY_NOT_FOUND; a zone administrator or auditor that may
 * not read the policy gets the same answer.
 */
async function requireById(
  db: Queryable,
  actor: ZoneCallerActor,
  ability: PolicyAbility,
  id: number,
): Promise<{ target: ServiceWithDef; record: PolicyRecord }> {
  const target = await serviceOfPolicy(db, id);
  const record = await requirePolicy(db, target, id);
  await requireZoneVisible(db, actor, ability, record.zoneName, () => policyNotFound(id));
  return { target, record };
}

/** The body's `service`, required where the path does not name one (Ranger: "service name required"). */
function serviceOf(body: RangerPolicy): string {
  if (typeof body.service === "string" && body.service !== "") return body.service;
  throw fieldError(PolicyInvalid, "body.service", "required", "names the policy's service");
}

/**
 * Ranger's `ServiceREST#applyPolicy`: with no policy on exactly these resources, create it (a
 * taken name gets the epoch milliseconds appended); otherwise merge it into that policy
 * (`mergeAppliedPolicy`), or replace that policy when `merge` is false. Turning deny-all-else on
 * through a merge is refused, as in Ranger.
 */
async function applyPolicy(tx: Tx, ctx: AuditContext, target: ServiceWithDef, body: RangerPolicy, merge: boolean) {
  const zone = body.zoneName ?? "";
  const existing = await byResources(tx, target, body);
  if (!existing) {
    const name = body.name && (await byName(tx, target, body.name, zone)) ? `${body.name}${Date.now()}` : body.name;
    return applyOne(tx, ctx, target, { policy: { ...body, name }, mode: "create" });
  }
  if (!merge) return applyOne(tx, ctx, target, { policy: body, mode: "update", id: existing.id });
  if (body.isDenyAllElse === true && existing.body.isDenyAllElse !== true) {
    throw fieldError(
      PolicyInvalid,
      "body.isDenyAllElse",
      "denyAllElseMerge",
      "updating an existing policy to enforce deny-all-else is not supported",
    );
  }
  const merged = mergeAppliedPolicy(existing.body, body);
  return applyOne(tx, ctx, target, { policy: merged, mode: "update", id: existing.id });
}

/**
 * One page of a search over `targets` in turn: Ranger's `startIndex`/`pageSize` over the
 * concatenation. `zoneNames` narrows it to a zone administrator's or auditor's zones.
 */
async function searchAcross(
  db: Queryable,
  targets: ServiceWithDef[],
  query: Record<string, unknown>,
  zoneNames: string[] | undefined,
): Promise<RangerPolicy[]> {
  const parsed = policySearchOf(query);
  const { policyId, paging, predicates, legacyResources } = parsed;
  const wanted = paging.startIndex + paging.pageSize;
  const out: RangerPolicy[] = [];
  const [legacyKey, legacyValue] = Object.entries(legacyResources)[0] ?? [];
  for (const target of targets) {
    if (out.length >= wanted) break;
    // A policy the resource predicate keeps holds the value, or a wildcard, under that key:
    // the candidates the resource index finds (a superset, any case).
    const ids =
      legacyKey === undefined ? undefined : await candidateIds(db, target.service.id, legacyKey, legacyValue as string);
    if (ids?.length === 0) continue;
    const search = { ...parsed.search, zoneNames, ids };
    // Ranger's in-memory predicates need every candidate of the service before paging.
    const limit = predicates.length > 0 ? EVERY_POLICY : wanted - out.length;
    const { records } = await searchPolicies(db, target, search, limit, null);
    for (const r of records) {
      if (policyId !== undefined && r.id !== policyId) continue;
      const policy = present(r, target);
      if (predicates.every((keep) => keep(policy))) out.push(policy);
    }
  }
  return page(out, paging);
}

/** No page limit: Ranger applies its predicates to a service's whole policy list. */
const EVERY_POLICY = 2_147_483_647;

function page<T>(items: T[], paging: Paging): T[] {
  return items.slice(paging.startIndex, paging.startIndex + paging.pageSize);
}

/**
 * Ranger admin's public REST API v2 for policies (`PublicAPIsv2`, ranger-semantics §4.1), so Ranger
 * tooling (the `apache-ranger` Python client, Terraform providers, scripts written for Ranger)
 * manages Gatehouse policies unchanged. Policies are Ranger JSON both ways; every write goes
 * through the native policy service (validation, versions, deltas, audit); errors come back as
 * Ranger's `VXResponse`.
 */
export function rangerPolicyRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Zone administrators (writes) and auditors (reads) reach these routes without the ability;
    // the policy service checks each write's zones, the handlers each read's (as Ranger's
    // ServiceREST does for zone admins).
    const read = {
      ability: "policy.read",
      errorShape: rangerErrorShape,
      delegatedAdmission: zoneAdmission(db.kysely, "policy.read"),
    } as const;
    const write = {
      ability: "policy.write",
      errorShape: rangerErrorShape,
      delegatedAdmission: zoneAdmission(db.kysely, "policy.write"),
    } as const;
    app.get(
      `${RANGER_V2}/policy/:id`,
      {
        config: read,
        schema: { tags, summary: "Get a policy (Ranger v2)", params: IdParams, response: { 200: Policy } },
      },
      async (request) => {
        const { target, record } = await requireById(db.kysely, request.actor, "policy.read", request.params.id);
        return present(record, target) as never;
      },
    );

    app.get(
      `${RANGER_V2}/service/:serviceName/policy/:policyName`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a policy by service and name (Ranger v2)",
          params: NamedParams,
          querystring: ZoneQuery,
          response: { 200: Policy },
        },
      },
      async (request) => {
        const target = await requireService(db.kysely, request.params.serviceName);
        const { policyName } = request.params;
        const zone = request.query.zoneName ?? "";
        const found = await requireNamed(db.kysely, request.actor, "policy.read", target, policyName, zone);
        return present(found, target) as never;
      },
    );

    app.get(
      `${RANGER_V2}/service/:serviceName/policy`,
      {
        config: read,
        schema: {
          tags,
          summary: "Search a service's policies (Ranger v2)",
          description:
            "Ranger's SearchFilter parameters; a plain array paged by `startIndex` and `pageSize` (default 200).",
          params: ServiceNameParams,
          querystring: OpenQuery,
          response: { 200: Policies },
        },
      },
      async (request) => {
        const target = await requireService(db.kysely, request.params.serviceName);
        const zones = await searchableZones(db.kysely, request.actor, request.query.zoneName);
        return (await searchAcross(db.kysely, [target], request.query, zones)) as never;
      },
    );

    app.get(
      `${RANGER_V2}/policy`,
      {
        config: read,
        schema: {
          tags,
          summary: "Search policies (Ranger v2)",
          description:
            "`serviceName` and/or `serviceType` narrow the services searched (all by default); other SearchFilter parameters as for one service.",
          querystring: OpenQuery,
          response: { 200: Policies },
        },
      },
      async (request) => {
        const q = request.query;
        let targets: ServiceWithDef[];
        if (q.serviceName) targets = [await requireService(db.kysely, q.serviceName)];
        else {
          const services = await listServices(db.kysely, q.serviceType || undefined);
          targets = await Promise.all(services.map((s) => requireService(db.kysely, s.name)));
        }
        const zones = await searchableZones(db.kysely, request.actor, q.zoneName);
        return (await searchAcross(db.kysely, targets, q, zones)) as never;
      },
    );

    app.post(
      `${RANGER_V2}/policy`,
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Create a policy (Ranger v2)",
          description:
            "`updateIfExists=true` replaces the policy with the same resources (or, with `policyMatchingAlgorithm=matchByName`, the same name); `mergeIfExists=true` merges into it (as `/policy/apply`); `deleteIfExists=true` deletes it first. Without flags a taken name or resource set is 409.",
          querystring: CreateQuery,
          body: PolicyInput,
          response: { 200: Policy },
        },
      },
      async (request) => {
        const body = request.body as RangerPolicy;
        const q = request.query;
        if (q.updateIfExists && q.mergeIfExists) {
          throw fieldError(
            ValidationFailed,
            "query.mergeIfExists",
            "exclusive",
            "both mergeIfExists and updateIfExists cannot be true",
          );
        }
        const outcome = await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await requireService(tx, serviceOf(body));
          const ctx = auditContextOf(request);
          // A zone administrator may only write its zones' policies: checked on the body's zone
          // before any policy is looked up, so the refusal is the same whatever that zone holds.
          const authority = await zoneWriteAuthority(tx, ctx.actor);
          if (authority) {
            requireZoneAdmin(authority, body.zoneName ?? "", body.name ? `policy \`${body.name}\`` : "a policy");
          }
          if (q.deleteIfExists) {
            const existing = await byResources(tx, target, body);
            if (existing) await deletePolicy(tx, ctx, target, existing.id);
          }
          if (q.updateIfExists && q.policyMatchingAlgorithm === "matchByName") {
            const existing = body.name ? await byName(tx, target, body.name, body.zoneName ?? "") : undefined;
            return existing
              ? applyOne(tx, ctx, target, { policy: body, mode: "update", id: existing.id })
              : applyOne(tx, ctx, target, { policy: body, mode: "create" });
          }
          if (q.updateIfExists || q.mergeIfExists) return applyPolicy(tx, ctx, target, body, q.mergeIfExists === true);
          return applyOne(tx, ctx, target, { policy: body, mode: "create" });
        });
        return outcome.policy as never;
      },
    );

    app.post(
      `${RANGER_V2}/policy/apply`,
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Create or merge a policy by resources (Ranger v2 apply)",
          description:
            "No policy with exactly these resources: create it (a taken name gets the epoch milliseconds appended). Otherwise the body's items are merged into that policy per user, group and role (Ranger's processApplyPolicy); `mergeIfExists=false` replaces it instead.",
          querystring: CreateQuery,
          body: PolicyInput,
          response: { 200: Policy },
        },
      },
      async (request) => {
        const body = request.body as RangerPolicy;
        const merge = request.query.mergeIfExists !== false && request.query.updateIfExists !== true;
        const outcome = await writeTransaction(
          db,
          request,
        )(async (tx) =>
          applyPolicy(tx, auditContextOf(request), await requireService(tx, serviceOf(body)), body, merge),
        );
        return outcome.policy as never;
      },
    );

    const replace = async (
      tx: Tx,
      ctx: AuditContext,
      target: ServiceWithDef,
      current: PolicyRecord,
      body: RangerPolicy,
    ) => {
      if (body.id !== undefined && body.id !== null && body.id !== current.id) {
        throw fieldError(
          PolicyInvalid,
          "body.id",
          "idMatchesPath",
          `${body.id} does not match the policy being updated (${current.id})`,
        );
      }
      if (body.service && body.service !== target.service.name) {
        throw fieldError(
          PolicyInvalid,
          "body.service",
          "serviceMatchesPath",
          `\`${body.service}\` does not match the policy's service \`${target.service.name}\``,
        );
      }
      return applyOne(tx, ctx, target, { policy: body, mode: "update", id: current.id });
    };

    app.put(
      `${RANGER_V2}/policy/:id`,
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Replace a policy (Ranger v2)",
          params: IdParams,
          body: PolicyInput,
          response: { 200: Policy },
        },
      },
      async (request) => {
        const outcome = await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const { target, record } = await requireById(tx, request.actor, "policy.write", request.params.id);
          return replace(tx, auditContextOf(request), target, record, request.body as RangerPolicy);
        });
        return outcome.policy as never;
      },
    );

    app.put(
      `${RANGER_V2}/service/:serviceName/policy/:policyName`,
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Replace a policy named in the path (Ranger v2)",
          params: NamedParams,
          querystring: ZoneQuery,
          body: PolicyInput,
          response: { 200: Policy },
        },
      },
      async (request) => {
        const outcome = await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await requireService(tx, request.params.serviceName);
          const { policyName } = request.params;
          const zone = request.query.zoneName ?? "";
          const current = await requireNamed(tx, request.actor, "policy.write", target, policyName, zone);
          return replace(tx, auditContextOf(request), target, current, request.body as RangerPolicy);
        });
        return outcome.policy as never;
      },
    );

    app.delete(
      `${RANGER_V2}/policy/:id`,
      {
        config: { ...write, simulatable: true },
        schema: { tags, summary: "Delete a policy (Ranger v2)", params: IdParams, response: { 204: Type.Null() } },
      },
      async (request, reply) => {
        await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const { target } = await requireById(tx, request.actor, "policy.write", request.params.id);
          await deletePolicy(tx, auditContextOf(request), target, request.params.id);
        });
        return reply.code(204).send(null);
      },
    );

    app.delete(
      `${RANGER_V2}/policy`,
      {
        config: { ...write, simulatable: true },
        schema: {
          tags,
          summary: "Delete a policy by service and name (Ranger v2)",
          querystring: DeleteQuery,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const q = request.query;
        await writeTransaction(
          db,
          request,
        )(async (tx) => {
          const target = await requireService(tx, q.servicename);
          const current = await requireNamed(tx, request.actor, "policy.write", target, q.policyname, q.zoneName ?? "");
          await deletePolicy(tx, auditContextOf(request), target, current.id);
        });
        return reply.code(204).send(null);
      },
    );
  };
}
