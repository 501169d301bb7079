import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Db } from "../../storage/db.ts";
import { rangerPolicyRoutes } from "./policies.routes.ts";
import { rangerRoleZoneRoutes } from "./roles-zones.routes.ts";
import { rangerServiceRoutes } from "./services.routes.ts";

/**
 * Ranger admin's public REST API v2 (`/service/public/v2/api/...`): policies read and written in
 * Ranger's JSON and answered with Ranger's errors; services, service-defs, roles and zones read. See
 * docs/compat.md (Apache Ranger).
 */
export function rangerPublicRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(rangerPolicyRoutes(db));
    await app.register(rangerServiceRoutes(db));
    await app.register(rangerRoleZoneRoutes(db));
  };
}
