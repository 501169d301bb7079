import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Type } from "typebox";
import { ServiceNotFound, ValidationFailed } from "../errors.ts";
import { findServiceWithDef, type ServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Db, Queryable } from "../storage/db.ts";
import { searchableZones, zoneAdmission } from "../zones/zone-admins.ts";
import { ServiceParams } from "./policies.schemas.ts";

/** How many values one answer may hold: suggestions for a typist, not a listing. */
export const MAX_RESOURCE_VALUES = 100;

/** One suggested value: as a policy spells it, and how the search rows store it. */
export interface ResourceValue {
  value: string;
  valueLower: string;
}

/**
 * The distinct values policies of a service use at resource level `resource`, lower-cased, that
 * start with `prefix` (case-insensitive), in byte order, at most `limit` of them and whether more
 * exist. A skip scan over migration 0022's index: one probe per distinct value from the prefix on,
 * stopping at the first value past it, so a level with 100,000 rows of three values costs three
 * probes. Each value is then shown as one policy holding it spells it (the search rows keep the
 * lower-cased form only). `zones` limits the values to policies of those zones (a zone
 * administrator's or auditor's view); each probe then also checks the zone of the value's policies.
 */
export async function resourceValues(
  db: Queryable,
  serviceId: number,
  resource: string,
  prefix: string,
  limit: number,
  zones?: string[],
): Promise<{ items: ResourceValue[]; hasMore: boolean }> {
  const start = prefix.toLowerCase();
  const inZone = (alias: string) =>
    zones
      ? sql`and exists (select 1 from policies z where z.id = ${sql.ref(`${alias}.policy_id`)} and z.zone_name = any(${zones}::text[]))`
      : sql``;
  const rows = await sql<{ value_lower: string; value: string | null }>`
    with recursive v(value) as (
      (select pr.value_lower collate "C" from policy_resources pr
        where pr.service_id = ${serviceId} and pr.resource_name = ${resource}
          and pr.value_lower collate "C" >= ${start} ${inZone("pr")}
        order by pr.value_lower collate "C" limit 1)
      union all
      select (select pr.value_lower collate "C" from policy_resources pr
               where pr.service_id = ${serviceId} and pr.resource_name = ${resource}
                 and pr.value_lower collate "C" > v.value ${inZone("pr")}
               order by pr.value_lower collate "C" limit 1)
        from v where starts_with(v.value, ${start})
    )
    select f.value as value_lower,
           (select x from policy_resources pr
              join policies p on p.id = pr.policy_id
              cross join lateral jsonb_array_elements_text(p.body -> 'resources' -> ${resource} -> 'values') x
             where pr.service_id = ${serviceId} and pr.resource_name = ${resource} and pr.value_lower = f.value
               and lower(x) = f.value ${inZone("pr")}
             limit 1) as value
      from (select value from v where starts_with(value, ${start}) limit ${limit + 1}) f`.execute(db);
  const items = rows.rows.map((r) => ({ valueLower: r.value_lower, value: r.value ?? r.value_lower }));
  return { items: items.slice(0, limit), hasMore: items.length > limit };
}

/** BAD `resource`: not a resource level of the service's def (the error names the levels it has). */
function requireResourceLevel(target: ServiceWithDef, resource: string): void {
  const names = (target.def.resources ?? []).map((r) => r.name);
  if (names.includes(resource)) return;
  const message = `query.resource: \`${resource}\` is not a resource of service-def \`${target.def.name}\` (it has ${names.map((n) => `\`${n}\``).join(", ")})`;
  throw ValidationFailed(message, { details: [{ field: "query.resource", rule: "resourceOfServiceDef", message }] });
}

const ResourceValuesQuery = Type.Object({
  resource: Type.String({
    minLength: 1,
    maxLength: 255,
    description: "A resource level of the service-def, e.g. `schema`",
  }),
  startsWith: Type.Optional(
    Type.String({ maxLength: 1024, description: "Only values starting with this (case-insensitive)" }),
  ),
  pageSize: Type.Integer({
    minimum: 1,
    maximum: MAX_RESOURCE_VALUES,
    default: 20,
    description: `How many values (1 to ${MAX_RESOURCE_VALUES})`,
  }),
});

const ResourceValuesAnswer = Type.Object(
  {
    resource: Type.String(),
    items: Type.Array(
      Type.Object({
        value: Type.String({ description: "As a policy holding it spells it" }),
        valueLower: Type.String({ description: "Lower-cased: the form values are compared and ordered in" }),
      }),
    ),
    hasMore: Type.Boolean({ description: "More values start with `startsWith` than `pageSize`" }),
  },
  { title: "ResourceValues" },
);

/** `GET /v1/services/{service}/resource-values`: the policy editor's suggestions for a resource level. */
export function resourceValueRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/v1/services/:service/resource-values",
      {
        config: { ability: "policy.read", delegatedAdmission: zoneAdmission(db.kysely, "policy.read") },
        schema: {
          tags: ["policies"],
          summary: "Resource values already used in a service's policies",
          description:
            "The distinct values the service's policies (any type, and their additional resources) hold at one resource level, lower-cased and ordered byte-wise, starting with `startsWith`: suggestions for a policy editor. Bounded by `pageSize`; `hasMore` says whether more match. A zone administrator or auditor sees the values of its zones' policies only.",
          params: ServiceParams,
          querystring: ResourceValuesQuery,
          response: { 200: ResourceValuesAnswer },
        },
      },
      async (request) => {
        const q = request.query;
        const target = await findServiceWithDef(db.kysely, request.params.service);
        if (!target) throw ServiceNotFound(`service \`${request.params.service}\` not found`);
        requireResourceLevel(target, q.resource);
        const zones = await searchableZones(db.kysely, request.actor, undefined);
        const found = await resourceValues(
          db.kysely,
          target.service.id,
          q.resource,
          q.startsWith ?? "",
          q.pageSize,
          zones,
        );
        return { resource: q.resource, ...found };
      },
    );
  };
}
