import type { FastifyPluginAsync } from "fastify";
import type { Config } from "../config/schema.ts";
import { identitySourceRoutes } from "../identity-sources/identity-sources.routes.ts";
import type { Db } from "../storage/db.ts";
import { groupRoutes } from "./groups.routes.ts";
import { orgRoutes } from "./orgs.routes.ts";
import { roleRoutes } from "./roles.routes.ts";
import { userRoutes } from "./users.routes.ts";

/**
 * The directory under `/v1`: organisations, users, groups and members, roles and role bindings,
 * identity sources. One plugin so `buildApp` registers the whole domain with one line.
 */
export function directoryRoutes(db: Db, _config: Config): FastifyPluginAsync {
  return async (app) => {
    await app.register(orgRoutes(db));
    await app.register(userRoutes(db));
    await app.register(groupRoutes(db));
    await app.register(roleRoutes(db));
    await app.register(identitySourceRoutes(db));
  };
}
