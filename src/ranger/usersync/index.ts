import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { acceptEmptyJsonBody } from "../../compat/shared/empty-json-body.ts";
import type { Db } from "../../storage/db.ts";
import { refreshEnginesAfterWrites } from "../shared/refresh-after-write.ts";
import { xgroupRoutes } from "./groups.routes.ts";
import { xgroupUserRoutes } from "./groupusers.routes.ts";
import { ugsyncRoutes } from "./ugsync.routes.ts";
import { xuserRoutes } from "./users.routes.ts";

/**
 * Ranger admin's user and group API (`/service/xusers/...`), which Ranger's user-management client
 * and Ranger usersync speak, over the directory: users, groups and memberships are the directory's
 * own, written through its services and audited in each write's transaction. See docs/compat.md
 * (Apache Ranger: users and groups).
 *
 * The decision domain leaves `/service/...` alone when it catches engines up after writes (plugin
 * downloads live there), so a successful write here asks for the catch-up itself before its answer
 * leaves: a decision that follows sees the memberships just pushed.
 */
export function rangerUsersyncRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Ranger's Python client sends `Content-Type: application/json` on its DELETEs, with no body
    acceptEmptyJsonBody(app);
    refreshEnginesAfterWrites(app, "Ranger xusers");
    await app.register(xuserRoutes(db));
    await app.register(xgroupRoutes(db));
    await app.register(xgroupUserRoutes(db));
    await app.register(ugsyncRoutes(db));
  };
}
