import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ServiceDefNotFound, ServiceNotFound } from "../../errors.ts";
import { Service } from "../../policies/policies.schemas.ts";
import { presentService } from "../../service-defs/service-defs.routes.ts";
import {
  findService,
  findServiceById,
  findServiceDef,
  listServiceDefs,
  listServices,
} from "../../service-defs/service-defs.store.ts";
import type { Db } from "../../storage/db.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";
import { OpenQuery, serviceDefFilterOf, serviceFilterOf } from "./search-filter.ts";
import { serviceDefById } from "./servicedef-writes.routes.ts";

const tags = ["ranger-public-api"];
const read = { ability: "policy.read", errorShape: rangerErrorShape } as const;
const ServiceDef = Type.Unknown({ description: "RangerServiceDef JSON" });

/**
 * The read side of Ranger's v2 service and service-def routes, which Ranger clients call before
 * they write policies (to learn a service's id, type and resource names). Services and
 * service-defs are managed through `/v1/services` and `/v1/service-defs`.
 */
export function rangerServiceRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      `${RANGER_V2}/service`,
      {
        config: read,
        schema: {
          tags,
          summary: "List services (Ranger v2)",
          description:
            "SearchFilter parameters: `serviceName` (exact), `serviceNamePartial` (contains, any case), `serviceType`, `serviceId`, `tagServiceName`, `isEnabled`; others are ignored, as in Ranger.",
          querystring: OpenQuery,
          response: { 200: Type.Array(Service) },
        },
      },
      async (request) => {
        const keep = serviceFilterOf(request.query);
        return (await listServices(db.kysely)).filter(keep).map(presentService) as never;
      },
    );
    app.get(
      `${RANGER_V2}/service/name/:name`,
      {
        config: read,
        schema: { tags, summary: "Get a service by name (Ranger v2)", params: NameParams, response: { 200: Service } },
      },
      async (request) => {
        const found = await findService(db.kysely, request.params.name);
        if (!found) throw ServiceNotFound(`service \`${request.params.name}\` not found`);
        return presentService(found) as never;
      },
    );
    app.get(
      `${RANGER_V2}/service/:id`,
      {
        config: read,
        schema: { tags, summary: "Get a service by id (Ranger v2)", params: IdParams, response: { 200: Service } },
      },
      async (request) => {
        const found = await findServiceById(db.kysely, request.params.id);
        if (!found) throw ServiceNotFound(`service ${request.params.id} not found`);
        return presentService(found) as never;
      },
    );
    app.get(
      `${RANGER_V2}/servicedef`,
      {
        config: read,
        schema: {
          tags,
          summary: "List service-defs (Ranger v2)",
          description:
            "SearchFilter parameters: `serviceType` (the def's name), `serviceTypeId` (its id); others are ignored.",
          querystring: OpenQuery,
          response: { 200: Type.Array(ServiceDef) },
        },
      },
      async (request) => {
        const keep = serviceDefFilterOf(request.query);
        return (await listServiceDefs(db.kysely)).filter(keep).map((d) => d.def) as never;
      },
    );
    app.get(
      `${RANGER_V2}/servicedef/:id`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a service-def by id (Ranger v2)",
          params: IdParams,
          response: { 200: ServiceDef },
        },
      },
      async (request) => (await serviceDefById(db.kysely, request.params.id)).def as never,
    );
    app.get(
      `${RANGER_V2}/servicedef/name/:name`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a service-def by name (Ranger v2)",
          params: NameParams,
          response: { 200: ServiceDef },
        },
      },
      async (request) => {
        const found = await findServiceDef(db.kysely, request.params.name);
        if (!found) throw ServiceDefNotFound(`service-def \`${request.params.name}\` not found`);
        return found.def as never;
      },
    );
  };
}
