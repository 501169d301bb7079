import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { Page, PageQuery } from "../http/schemas.ts";
import type { Db } from "../storage/db.ts";
import { requireZoneVisible, zoneAdmission } from "./zone-admins.ts";
import { Zone, ZoneInput, ZonePatch } from "./zones.schemas.ts";
import { createZone, deleteZone, getZone, updateZone, zoneNotFound } from "./zones.service.ts";
import { listZoneIds, presentZones } from "./zones.store.ts";

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });

const ROUTING =
  "A request whose resource falls in a zone is decided only by that zone's policies; other requests by the policies without a zone.";

/**
 * Security zones (`/v1/zones`, Ranger's `RangerSecurityZone`): parts of the resources of services,
 * each governed only by the policies that name the zone (`zoneName`). Reads need `policy.read`,
 * writes `policy.write`, except that a zone's administrators and auditors read it, and its
 * administrators change its admin and audit lists (Ranger's rule, zone-admin-changes.ts); a zone
 * they may not read is answered as a missing one. Every write is one transaction with its audit
 * event, and bumps the policy version of the services whose zones changed, so this process's
 * engines (through the decision domain's after-write hook), other processes' engines (NOTIFY) and
 * plugins reload.
 */
export function zoneRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ["zones"];
    const location = (name: string) => `/v1/zones/${encodeURIComponent(name)}`;

    app.get(
      "/v1/zones",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "List security zones",
          querystring: PageQuery,
          response: { 200: Page(Zone, "ZonePage") },
        },
      },
      async (request) => {
        const q = request.query;
        const after = q.cursor ? decodeCursor<{ id: number }>(q.cursor, ["id"]).id : 0;
        const { ids, total } = await listZoneIds(db.kysely, after, q.limit + 1);
        const page = pageOf(ids, q.limit, (id) => ({ id }));
        return { items: await presentZones(db.kysely, page.rows), nextCursor: page.nextCursor, total };
      },
    );
    app.post(
      "/v1/zones",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Create a security zone",
          description: `The zone claims resources of services (\`services\`: name → \`{resources: [{catalog: ["sales"]}]}\`) and may include tag services. 400 ZONE_INVALID names unknown services and resources the service-def does not have; 409 ZONE_RESOURCES_OVERLAP when another zone claims overlapping resources of the same service. ${ROUTING}`,
          body: ZoneInput,
          response: { 201: Zone },
        },
      },
      async (request, reply) => {
        const zone = await db.transaction((tx) => createZone(tx, auditContextOf(request), request.body));
        return reply.code(201).header("location", location(zone.name)).send(zone);
      },
    );
    app.get(
      "/v1/zones/:name",
      {
        config: { ability: "policy.read", delegatedAdmission: zoneAdmission(db.kysely, "policy.read") },
        schema: {
          tags,
          summary: "Get a security zone",
          description: "Also to the zone's administrators and auditors without `policy.read`.",
          params: NameParams,
          response: { 200: Zone },
        },
      },
      async (request) => {
        const zone = await getZone(db.kysely, request.params.name);
        await requireZoneVisible(db.kysely, request.actor, "policy.read", zone.name, () =>
          zoneNotFound(request.params.name),
        );
        return zone;
      },
    );
    app.patch(
      "/v1/zones/:name",
      {
        config: { ability: "policy.write", delegatedAdmission: zoneAdmission(db.kysely, "policy.write") },
        schema: {
          tags,
          summary: "Change a security zone",
          description:
            "The given fields replace the stored ones (`services` and `tagServices` as a whole). 409 ZONE_IN_USE when a zone with policies would be renamed, or a service whose policies are in the zone removed. A zone administrator without `policy.write` may change only the zone's admin and audit lists (as in Ranger); other changes are 403.",
          params: NameParams,
          body: ZonePatch,
          response: { 200: Zone },
        },
      },
      async (request) =>
        db.transaction((tx) => updateZone(tx, auditContextOf(request), request.params.name, request.body)),
    );
    app.delete(
      "/v1/zones/:name",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Delete a security zone without policies",
          description: "409 ZONE_IN_USE, naming how many, while policies belong to the zone.",
          params: NameParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteZone(tx, auditContextOf(request), request.params.name));
        return reply.code(204).send(null);
      },
    );
  };
}
