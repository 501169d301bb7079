import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { acceptEmptyJsonBody } from "../../compat/shared/empty-json-body.ts";
import type { Db } from "../../storage/db.ts";
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
    app.addHook("onSend", async (request, reply, payload) => {
      if (request.method === "GET" || request.method === "HEAD" || reply.statusCode >= 400) return payload;
      try {
        await app.decisions.afterLocalWrite();
      } catch (err) {
        // The write committed; notifications and the safety poll will catch the engines up.
        request.log.warn({ err }, "engines not refreshed after a Ranger xusers write");
      }
      return payload;
    });
    await app.register(xuserRoutes(db));
    await app.register(xgroupRoutes(db));
    await app.register(xgroupUserRoutes(db));
    await app.register(ugsyncRoutes(db));
  };
}
