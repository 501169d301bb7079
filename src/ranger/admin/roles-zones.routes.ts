import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ServiceNotFound, ZoneNotFound } from "../../errors.ts";
import { findService, listServices } from "../../service-defs/service-defs.store.ts";
import type { Db } from "../../storage/db.ts";
import { requireZoneVisible, zoneAdmission } from "../../zones/zone-admins.ts";
import { Zone } from "../../zones/zones.schemas.ts";
import { getZone, zoneNotFound } from "../../zones/zones.service.ts";
import { presentZones } from "../../zones/zones.store.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";
import { OpenQuery, zoneFilterOf } from "./search-filter.ts";
import { allZones } from "./zone-v2.ts";

const tags = ["ranger-public-api"];
const ZoneHeader = Type.Object({ id: Type.Integer(), name: Type.String(), isEnabled: Type.Boolean() });
const ServiceHeader = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  type: Type.String(),
  isTagService: Type.Boolean(),
  isEnabled: Type.Boolean(),
});
const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });
const policyRead = { ability: "policy.read", errorShape: rangerErrorShape } as const;
/**
 * The read side of Ranger's v2 security-zone routes: `/v1/zones`, already in Ranger's
 * `RangerSecurityZone` shape, managed through the native API. (The v2 role routes are served with
 * RoleREST's in ranger/roles/plugin-roles.routes.ts, as Ranger's PublicAPIsv2 delegates to RoleREST.)
 */
export function rangerZoneRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      `${RANGER_V2}/zones`,
      {
        config: policyRead,
        schema: {
          tags,
          summary: "List security zones (Ranger v2)",
          description:
            "SearchFilter parameters: `zoneName` (exact), `zoneNamePartial` (contains, any case), `zoneId`, `serviceName`; others are ignored.",
          querystring: OpenQuery,
          response: { 200: Type.Array(Zone) },
        },
      },
      async (request) => (await allZones(db.kysely)).filter(zoneFilterOf(request.query)) as never,
    );
    app.get(
      `${RANGER_V2}/zone-headers`,
      {
        config: policyRead,
        schema: {
          tags,
          summary: "Security zone headers (Ranger v2)",
          description: "Every zone's id and name (Ranger `RangerSecurityZoneHeaderInfo`).",
          response: { 200: Type.Array(ZoneHeader) },
        },
      },
      async () => (await allZones(db.kysely)).map((z) => ({ id: z.id, name: z.name, isEnabled: true })) as never,
    );
    app.get(
      `${RANGER_V2}/zones/:id/service-headers`,
      {
        config: policyRead,
        schema: {
          tags,
          summary: "A security zone's services (Ranger v2)",
          description:
            "The zone's data services, then its tag services (Ranger `RangerServiceHeaderInfo`: id, name, displayName, type, isTagService, isEnabled).",
          params: IdParams,
          response: { 200: Type.Array(ServiceHeader) },
        },
      },
      async (request) => {
        const [zone] = await presentZones(db.kysely, [request.params.id]);
        if (!zone) throw ZoneNotFound(`security zone ${request.params.id} not found`);
        const services = new Map((await listServices(db.kysely)).map((s) => [s.name, s]));
        const names = [...Object.keys(zone.services), ...zone.tagServices];
        return names.flatMap((name) => {
          const s = services.get(name);
          if (!s) return [];
          const isTagService = zone.tagServices.includes(name);
          return [
            { id: s.id, name: s.name, displayName: s.displayName, type: s.type, isTagService, isEnabled: s.isEnabled },
          ];
        }) as never;
      },
    );
    app.get(
      `${RANGER_V2}/zone-names/:serviceName/resource`,
      {
        config: policyRead,
        schema: {
          tags,
          summary: "Zones whose resources contain a resource (Ranger v2)",
          description:
            "The resource is given as `resource:<name>=<value>` parameters; the zones are those the decision engine routes an access on it to (Ranger's zone matcher). An empty list when none.",
          params: ServiceNameParams,
          querystring: OpenQuery,
          response: { 200: Type.Array(Type.String()) },
        },
      },
      async (request) => {
        const target = await findService(db.kysely, request.params.serviceName);
        if (!target) throw ServiceNotFound(`service \`${request.params.serviceName}\` not found`);
        const elements: Record<string, string> = {};
        for (const [key, value] of Object.entries(request.query)) {
          if (key.startsWith("resource:") && value !== "") elements[key.slice("resource:".length)] = value;
        }
        const live = await app.decisions.engines.get(target.name);
        return live.engine.zoneNamesFor(live.engine.preProcess({ resource: { elements }, accessType: "" })) as never;
      },
    );
    // A zone's administrators and auditors read it without `policy.read` (they edit its lists);
    // a zone they may not read is answered as a missing one.
    const zoneRead = { ...policyRead, delegatedAdmission: zoneAdmission(db.kysely, "policy.read") };
    app.get(
      `${RANGER_V2}/zones/name/:name`,
      {
        config: zoneRead,
        schema: {
          tags,
          summary: "Get a security zone by name (Ranger v2)",
          params: NameParams,
          response: { 200: Zone },
        },
      },
      async (request) => {
        const zone = await getZone(db.kysely, request.params.name);
        await requireZoneVisible(db.kysely, request.actor, "policy.read", zone.name, () =>
          zoneNotFound(request.params.name),
        );
        return zone as never;
      },
    );
    app.get(
      `${RANGER_V2}/zones/:id`,
      {
        config: zoneRead,
        schema: { tags, summary: "Get a security zone by id (Ranger v2)", params: IdParams, response: { 200: Zone } },
      },
      async (request) => {
        const missing = () => ZoneNotFound(`security zone ${request.params.id} not found`);
        const [zone] = await presentZones(db.kysely, [request.params.id]);
        if (!zone) throw missing();
        await requireZoneVisible(db.kysely, request.actor, "policy.read", zone.name, missing);
        return zone as never;
      },
    );
  };
}
