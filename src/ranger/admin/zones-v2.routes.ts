import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fieldError, ServiceNotFound, ValidationFailed, ZoneNotFound } from "../../errors.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import { requireZoneVisible, type ZoneCallerActor, zoneAdmission } from "../../zones/zone-admins.ts";
import { createZone, getZone, updateZone, zoneNotFound } from "../../zones/zones.service.ts";
import { presentZones, type ZoneView } from "../../zones/zones.store.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";
import { OpenQuery, zoneFilterOf } from "./search-filter.ts";
import {
  allZones,
  applyZoneChange,
  presentZoneV2,
  type ZoneChangeRequest,
  type ZoneV2,
  zoneInputOfV2,
} from "./zone-v2.ts";

const tags = ["ranger-public-api"];
const write = { ability: "policy.write", errorShape: rangerErrorShape } as const;
const read = { ability: "policy.read", errorShape: rangerErrorShape } as const;
const Principal = Type.Object(
  { type: Type.String({ maxLength: 16 }), name: Type.String({ minLength: 1, maxLength: 767 }) },
  { additionalProperties: true },
);
const ResourceV2 = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    resource: Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.Array(Type.String({ maxLength: 4096 }))),
  },
  { additionalProperties: true },
);
/** A resource to remove: by `id`, or equal to `resource`. */
const ResourceRef = Type.Object(
  { id: ResourceV2.properties.id, resource: Type.Optional(ResourceV2.properties.resource) },
  { additionalProperties: true },
);
const RemovedResources = Type.Record(
  Type.String({ minLength: 1, maxLength: 255 }),
  Type.Object(
    { resources: Type.Optional(Type.Array(ResourceRef, { maxItems: 1_000 })) },
    { additionalProperties: true },
  ),
);
const ServicesV2 = Type.Record(
  Type.String({ minLength: 1, maxLength: 255 }),
  Type.Object(
    { resources: Type.Optional(Type.Array(ResourceV2, { maxItems: 1_000 })) },
    { additionalProperties: true },
  ),
);
const Principals = Type.Optional(Type.Array(Principal, { maxItems: 10_000 }));
const TagServices = Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100 }));
const ZoneV2Input = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    services: Type.Optional(ServicesV2),
    tagServices: TagServices,
    admins: Principals,
    auditors: Principals,
  },
  {
    title: "RangerSecurityZoneV2Input",
    additionalProperties: true,
    description: "Ranger's `RangerSecurityZoneV2`; `guid`, `version`, times and the like are accepted and ignored.",
  },
);
const ZoneChange = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    resourcesToUpdate: Type.Optional(ServicesV2),
    resourcesToRemove: Type.Optional(RemovedResources),
    tagServicesToAdd: TagServices,
    tagServicesToRemove: TagServices,
    adminsToAdd: Principals,
    adminsToRemove: Principals,
    auditorsToAdd: Principals,
    auditorsToRemove: Principals,
  },
  { title: "RangerSecurityZoneChangeRequest", additionalProperties: true },
);
const AnyZoneV2 = Type.Unknown({ description: "RangerSecurityZoneV2" });
const ResourcesParams = Type.Object({
  id: IdParams.properties.id,
  serviceName: Type.String({ minLength: 1, maxLength: 255 }),
});
const NamedResourcesParams = Type.Object({
  name: NameParams.properties.name,
  serviceName: Type.String({ minLength: 1, maxLength: 255 }),
});

/** Ranger's `PList`: one page of a list with its paging. */
function pList<T>(items: T[], query: Record<string, string>) {
  const number = (name: string, fallback: number, min: number) => {
    const raw = query[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw fieldError(ValidationFailed, `query.${name}`, "integer", `must be an integer of at least ${min}`);
    return n;
  };
  const startIndex = number("startIndex", 0, 0);
  const pageSize = number("pageSize", 200, 1);
  const list = items.slice(startIndex, startIndex + pageSize);
  return {
    startIndex,
    pageSize,
    totalCount: items.length,
    resultSize: list.length,
    sortType: null,
    sortBy: null,
    list,
  };
}

async function zoneById(db: Queryable, actor: ZoneCallerActor, ability: "policy.read" | "policy.write", id: number) {
  const missing = () => ZoneNotFound(`security zone ${id} not found`);
  const [zone] = await presentZones(db, [id]);
  if (!zone) throw missing();
  await requireZoneVisible(db, actor, ability, zone.name, missing);
  return zone;
}

async function zoneByName(db: Queryable, actor: ZoneCallerActor, name: string) {
  const zone = await getZone(db, name);
  await requireZoneVisible(db, actor, "policy.read", zone.name, () => zoneNotFound(name));
  return zone;
}

/** A zone's resources in one service, as a page; 404 when the zone does not include the service. */
function resourcesOf(zone: ZoneView, serviceName: string, query: Record<string, string>) {
  const v2 = presentZoneV2(zone);
  const service = v2.services[serviceName];
  if (!service) throw ServiceNotFound(`security zone \`${zone.name}\` has no service \`${serviceName}\``);
  return pList(service.resources, query);
}

/**
 * Ranger's security-zone API v2 (`/zones-v2`, `SecurityZoneREST` v2): the same zones as v1 in
 * `RangerSecurityZoneV2`'s shape (numbered resources, admins and auditors as typed principals),
 * written through the native zone service (validation, overlap, zone-admin rules, audit).
 */
export function rangerZoneV2Routes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const zoneRead = { ...read, delegatedAdmission: zoneAdmission(db.kysely, "policy.read") };
    const zoneWrite = { ...write, delegatedAdmission: zoneAdmission(db.kysely, "policy.write") };
    app.post(
      `${RANGER_V2}/zones-v2`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a security zone (Ranger zones v2)",
          body: ZoneV2Input,
          response: { 200: AnyZoneV2 },
        },
      },
      async (request) => {
        const input = zoneInputOfV2(request.body as ZoneV2);
        return presentZoneV2(await db.transaction((tx) => createZone(tx, auditContextOf(request), input))) as never;
      },
    );
    app.put(
      `${RANGER_V2}/zones-v2/:id`,
      {
        config: zoneWrite,
        schema: {
          tags,
          summary: "Replace a security zone (Ranger zones v2)",
          description: "As `PUT /zones/{id}`: the body replaces the zone; a body `id` other than the path's is a 400.",
          params: IdParams,
          body: ZoneV2Input,
          response: { 200: AnyZoneV2 },
        },
      },
      async (request) => {
        const body = request.body as ZoneV2;
        return presentZoneV2(
          await db.transaction(async (tx) => {
            const current = await zoneById(tx, request.actor, "policy.write", request.params.id);
            if (body.id !== undefined && body.id !== null && body.id !== current.id) {
              throw fieldError(
                ValidationFailed,
                "body.id",
                "idMatchesPath",
                `${body.id} does not match the security zone (${current.id})`,
              );
            }
            return updateZone(tx, auditContextOf(request), current.name, zoneInputOfV2(body));
          }),
        ) as never;
      },
    );
    app.put(
      `${RANGER_V2}/zones-v2/:id/partial`,
      {
        config: zoneWrite,
        schema: {
          tags,
          summary: "Change part of a security zone (Ranger zones v2)",
          description:
            "`resourcesToUpdate` replaces the resource with the given id or adds one without an id; `resourcesToRemove` drops by id or equal resource; tag services, admins and auditors are added and removed. Answers `true`.",
          params: IdParams,
          body: ZoneChange,
          response: { 200: Type.Boolean() },
        },
      },
      async (request) => {
        await db.transaction(async (tx) => {
          const current = await zoneById(tx, request.actor, "policy.write", request.params.id);
          const next = applyZoneChange(current, request.body as ZoneChangeRequest);
          await updateZone(tx, auditContextOf(request), current.name, next);
        });
        return true as never;
      },
    );
    app.get(
      `${RANGER_V2}/zones-v2/name/:name`,
      {
        config: zoneRead,
        schema: {
          tags,
          summary: "Get a security zone by name (Ranger zones v2)",
          params: NameParams,
          response: { 200: AnyZoneV2 },
        },
      },
      async (request) => presentZoneV2(await zoneByName(db.kysely, request.actor, request.params.name)) as never,
    );
    app.get(
      `${RANGER_V2}/zones-v2/:id`,
      {
        config: zoneRead,
        schema: {
          tags,
          summary: "Get a security zone by id (Ranger zones v2)",
          params: IdParams,
          response: { 200: AnyZoneV2 },
        },
      },
      async (request) =>
        presentZoneV2(await zoneById(db.kysely, request.actor, "policy.read", request.params.id)) as never,
    );
    app.get(
      `${RANGER_V2}/zones-v2/:id/resources/:serviceName`,
      {
        config: zoneRead,
        schema: {
          tags,
          summary: "A zone's resources in one service (Ranger zones v2)",
          description: "Ranger's `PList`, paged by `startIndex` and `pageSize`.",
          params: ResourcesParams,
          querystring: OpenQuery,
          response: { 200: Type.Unknown() },
        },
      },
      async (request) => {
        const zone = await zoneById(db.kysely, request.actor, "policy.read", request.params.id);
        return resourcesOf(zone, request.params.serviceName, request.query) as never;
      },
    );
    app.get(
      `${RANGER_V2}/zones-v2/name/:name/resources/:serviceName`,
      {
        config: zoneRead,
        schema: {
          tags,
          summary: "A zone's resources in one service, by zone name (Ranger zones v2)",
          description: "Ranger's `PList`, paged by `startIndex` and `pageSize`.",
          params: NamedResourcesParams,
          querystring: OpenQuery,
          response: { 200: Type.Unknown() },
        },
      },
      async (request) => {
        const zone = await zoneByName(db.kysely, request.actor, request.params.name);
        return resourcesOf(zone, request.params.serviceName, request.query) as never;
      },
    );
    app.get(
      `${RANGER_V2}/zones-v2`,
      {
        config: read,
        schema: {
          tags,
          summary: "List security zones (Ranger zones v2)",
          description: "Ranger's `PList`; the zone SearchFilter parameters of `GET /zones` apply.",
          querystring: OpenQuery,
          response: { 200: Type.Unknown() },
        },
      },
      async (request) => {
        const keep = zoneFilterOf(request.query);
        return pList((await allZones(db.kysely)).filter(keep).map(presentZoneV2), request.query) as never;
      },
    );
  };
}
