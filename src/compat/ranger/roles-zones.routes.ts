import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ZoneNotFound } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import { requireZoneVisible, zoneAdmission } from "../../zones/zone-admins.ts";
import { Zone } from "../../zones/zones.schemas.ts";
import { getZone, zoneNotFound } from "../../zones/zones.service.ts";
import { listZoneIds, presentZones } from "../../zones/zones.store.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
const policyRead = { ability: "policy.read", errorShape: rangerErrorShape } as const;
/**
 * The read side of Ranger's v2 security-zone routes: `/v1/zones`, already in Ranger's
 * `RangerSecurityZone` shape, managed through the native API. (The v2 role routes are served with
 * RoleREST's in plugin-roles/plugin-roles.routes.ts, as Ranger's PublicAPIsv2 delegates to RoleREST.)
 */
export function rangerZoneRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      `${RANGER_V2}/zones`,
      {
        config: policyRead,
        schema: { tags, summary: "List security zones (Ranger v2)", response: { 200: Type.Array(Zone) } },
      },
      async () => {
        const zones = [];
        for (let after = 0; ; ) {
          const { ids } = await listZoneIds(db.kysely, after, 500);
          if (ids.length === 0) break;
          zones.push(...(await presentZones(db.kysely, ids)));
          after = ids[ids.length - 1] as number;
        }
        return zones as never;
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
