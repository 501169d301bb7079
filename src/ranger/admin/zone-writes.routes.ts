import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fieldError, ValidationFailed, ZoneNotFound } from "../../errors.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import { requireZoneVisible, zoneAdmission } from "../../zones/zone-admins.ts";
import { Zone, ZoneInput, ZoneServiceResources } from "../../zones/zones.schemas.ts";
import { createZone, deleteZone, updateZone, type ZoneInput as ZoneInputT } from "../../zones/zones.service.ts";
import { presentZones, type ZoneView } from "../../zones/zones.store.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
const write = { ability: "policy.write", errorShape: rangerErrorShape } as const;
const fields = ZoneInput.properties;
/** Ranger's `RangerSecurityZoneService`; newer Ranger adds `resourcesBaseInfo`, accepted and ignored. */
const RangerZoneService = Type.Object(
  { resources: ZoneServiceResources.properties.resources },
  { additionalProperties: true },
);
const RangerZoneInput = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    name: fields.name,
    description: fields.description,
    services: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 255 }), RangerZoneService, {
        description: "Data services by name, with the resources the zone claims in each",
      }),
    ),
    tagServices: fields.tagServices,
    adminUsers: fields.adminUsers,
    adminUserGroups: fields.adminUserGroups,
    adminRoles: fields.adminRoles,
    auditUsers: fields.auditUsers,
    auditUserGroups: fields.auditUserGroups,
    auditRoles: fields.auditRoles,
  },
  {
    title: "RangerSecurityZoneInput",
    additionalProperties: true,
    description:
      "Ranger's `RangerSecurityZone`; other fields (`guid`, `isEnabled`, `version`, times, ...) are accepted and ignored.",
  },
);
type Body = ZoneInputT & { id?: number | null };

/** The zone as the native service takes it: every field given, absent ones empty (Ranger replaces a zone whole). */
function zoneOf(body: Body): ZoneInputT {
  const services: ZoneInputT["services"] = {};
  for (const [name, s] of Object.entries(body.services ?? {})) services[name] = { resources: s.resources };
  return {
    name: body.name,
    description: body.description ?? "",
    services,
    tagServices: body.tagServices ?? [],
    adminUsers: body.adminUsers ?? [],
    adminUserGroups: body.adminUserGroups ?? [],
    adminRoles: body.adminRoles ?? [],
    auditUsers: body.auditUsers ?? [],
    auditUserGroups: body.auditUserGroups ?? [],
    auditRoles: body.auditRoles ?? [],
  };
}

/** The ZONE_NOT_FOUND of zone `id`; also the answer to a zone administrator for a zone it may not read. */
function zoneIdNotFound(id: number) {
  return ZoneNotFound(`security zone ${id} not found`);
}

/** The zone Ranger numbers `id`; ZONE_NOT_FOUND (404) otherwise. */
async function zoneById(db: Queryable, id: number): Promise<ZoneView> {
  const [zone] = await presentZones(db, [id]);
  if (!zone) throw zoneIdNotFound(id);
  return zone;
}

/**
 * Ranger's v2 security-zone writes (`SecurityZoneREST` through `PublicAPIsv2`) over `/v1/zones`:
 * one transaction each through the native zone service, which validates the services and
 * resources against their service-defs, refuses overlapping zones and zones whose policies would
 * be stranded, bumps the policy version of the services concerned (engines and plugins reload)
 * and audits. As in Ranger, a zone's administrators may replace it when they change only its
 * admin and audit lists (src/zones/zone-admin-changes.ts); creating and deleting zones stays with
 * `policy.write`.
 */
export function rangerZoneWriteRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      `${RANGER_V2}/zones`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a security zone (Ranger v2)",
          description:
            "400 ZONE_INVALID names unknown services and resources the service-def lacks; 409 ZONE_RESOURCES_OVERLAP when another zone claims overlapping resources; 409 ZONE_NAME_TAKEN.",
          body: RangerZoneInput,
          response: { 200: Zone },
        },
      },
      async (request) =>
        (await db.transaction((tx) => createZone(tx, auditContextOf(request), zoneOf(request.body as Body)))) as never,
    );

    app.put(
      `${RANGER_V2}/zones/:id`,
      {
        config: { ...write, delegatedAdmission: zoneAdmission(db.kysely, "policy.write") },
        schema: {
          tags,
          summary: "Replace a security zone (Ranger v2)",
          description:
            "The body replaces the zone (absent lists and services are empty, as in Ranger). A body `id` other than the path's is a 400; 409 ZONE_IN_USE when a zone with policies would be renamed or lose a service its policies use. A zone administrator without `policy.write` may change only the zone's admin and audit lists (403 otherwise), as Ranger's SecurityZoneREST allows.",
          params: IdParams,
          body: RangerZoneInput,
          response: { 200: Zone },
        },
      },
      async (request) => {
        const body = request.body as Body;
        return (await db.transaction(async (tx) => {
          const current = await zoneById(tx, request.params.id);
          await requireZoneVisible(tx, request.actor, "policy.write", current.name, () =>
            zoneIdNotFound(request.params.id),
          );
          if (body.id !== undefined && body.id !== null && body.id !== current.id) {
            throw fieldError(
              ValidationFailed,
              "body.id",
              "idMatchesPath",
              `${body.id} does not match the security zone being updated (${current.id})`,
            );
          }
          return updateZone(tx, auditContextOf(request), current.name, zoneOf(body));
        })) as never;
      },
    );

    app.delete(
      `${RANGER_V2}/zones/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a security zone (Ranger v2)",
          description: "409 ZONE_IN_USE while policies name the zone.",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction(async (tx) => {
          const current = await zoneById(tx, request.params.id);
          await deleteZone(tx, auditContextOf(request), current.name);
        });
        return reply.code(204).send(null);
      },
    );
    app.delete(
      `${RANGER_V2}/zones/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a security zone by name (Ranger v2)",
          description: "409 ZONE_IN_USE while policies name the zone.",
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
