import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../storage/db.ts";
import { zoneAuthorityOf } from "./zone-admins.ts";

const MyZones = Type.Object(
  {
    administers: Type.Array(Type.String(), {
      description: "Zones the caller administers (listed by user, group, `public` or role), by name",
    }),
    audits: Type.Array(Type.String(), { description: "Zones the caller audits, by name" }),
  },
  { title: "MyZones" },
);

/**
 * `GET /v1/whoami/zones`: the zones the caller administers and audits. A zone administrator often
 * holds no `policy.read`, so it cannot list `/v1/zones`; this route tells it (and the console)
 * which zones to open, by the same rule the zone routes admit it with (`zoneAuthorityOf`).
 */
export function myZonesRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/v1/whoami/zones",
      {
        config: { ability: "authenticated" },
        schema: {
          tags: ["zones"],
          summary: "The zones I administer and audit",
          description:
            "Any caller; only directory users can be listed in a zone, so other callers get two empty lists. Names are sorted.",
          response: { 200: MyZones },
        },
      },
      async (request) => {
        const rights = await zoneAuthorityOf(db.kysely, request.actor);
        return { administers: [...rights.admin].sort(), audits: [...rights.audit].sort() };
      },
    );
  };
}
