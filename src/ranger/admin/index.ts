import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { acceptEmptyJsonBody } from "../../compat/shared/empty-json-body.ts";
import type { Db } from "../../storage/db.ts";
import { DEFAULT_TAG_LOG, type TagLogOptions } from "../../tags/tag-changes.ts";
import { refreshEnginesAfterWrites } from "../shared/refresh-after-write.ts";
import { rangerPolicyRoutes } from "./policies.routes.ts";
import { rangerZoneRoutes } from "./roles-zones.routes.ts";
import { rangerServerRoutes } from "./server.routes.ts";
import { rangerServiceTagRoutes } from "./service-tags.routes.ts";
import { rangerServiceWriteRoutes } from "./service-writes.routes.ts";
import { rangerServiceDefWriteRoutes } from "./servicedef-writes.routes.ts";
import { rangerServiceRoutes } from "./services.routes.ts";
import { rangerZoneWriteRoutes } from "./zone-writes.routes.ts";
import { rangerZoneV2Routes } from "./zones-v2.routes.ts";

/**
 * Ranger admin's public REST API v2 (`/service/public/v2/api/...`): policies, services, roles and
 * security zones read and written in Ranger's JSON and answered with Ranger's errors; service-defs
 * read. See docs/compat.md (Apache Ranger).
 *
 * The decision domain catches this process's engines and directory cache up after writes of the
 * native API, but leaves `/service/...` alone (plugin downloads); so a successful write here asks
 * for the same catch-up before its answer leaves, and a decision that follows sees it.
 */
export function rangerPublicRoutes(db: Db, tagLog: TagLogOptions = DEFAULT_TAG_LOG): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Ranger's client sends `Content-Type: application/json` on every call, deletes included.
    acceptEmptyJsonBody(app);
    refreshEnginesAfterWrites(app, "Ranger API");
    await app.register(rangerPolicyRoutes(db));
    await app.register(rangerServiceRoutes(db));
    await app.register(rangerServiceWriteRoutes(db));
    await app.register(rangerZoneRoutes(db));
    await app.register(rangerZoneWriteRoutes(db));
    await app.register(rangerServiceDefWriteRoutes(db));
    await app.register(rangerZoneV2Routes(db));
    await app.register(rangerServiceTagRoutes(db, tagLog));
    await app.register(rangerServerRoutes(db));
  };
}
