import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { exportRangerRoles } from "../../distribution/ranger-roles.ts";
import { RoleNotFound, UserNotFound, ZoneNotFound } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import { Zone } from "../../zones/zones.schemas.ts";
import { getZone } from "../../zones/zones.service.ts";
import { listZoneIds, presentZones } from "../../zones/zones.store.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
const directoryRead = { ability: "directory.read", errorShape: rangerErrorShape } as const;
const policyRead = { ability: "policy.read", errorShape: rangerErrorShape } as const;
const Member = Type.Object({ name: Type.String(), isAdmin: Type.Boolean() });
/** A role in Ranger's `RangerRole` form, as plugins download it. */
export const RangerRole = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    users: Type.Array(Member),
    groups: Type.Array(Member),
    roles: Type.Array(Member),
  },
  { title: "RangerRole", additionalProperties: true },
);
const UserParams = Type.Object({ user: Type.String({ minLength: 1, maxLength: 255 }) });
const OpenQuery = Type.Record(Type.String(), Type.String());

/** Every directory role in Ranger's `RangerRole` form (the roles the plugins download). */
async function rangerRoles(db: Db) {
  return (await exportRangerRoles(db.kysely, "")).rangerRoles ?? [];
}

/**
 * The read side of Ranger's v2 role and security-zone routes. Roles are the directory's roles as
 * plugins receive them (users and groups bound to a role, composite parents as member roles);
 * zones are `/v1/zones`, already in Ranger's `RangerSecurityZone` shape. Both are managed through
 * the native API (`/v1/roles`, role bindings, `/v1/zones`).
 */
export function rangerRoleZoneRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      `${RANGER_V2}/roles`,
      {
        config: directoryRead,
        schema: {
          tags,
          summary: "List roles (Ranger v2)",
          querystring: OpenQuery,
          response: { 200: Type.Array(RangerRole) },
        },
      },
      async () => (await rangerRoles(db)) as never,
    );
    app.get(
      `${RANGER_V2}/roles/names`,
      {
        config: directoryRead,
        schema: {
          tags,
          summary: "List role names (Ranger v2)",
          querystring: OpenQuery,
          response: { 200: Type.Array(Type.String()) },
        },
      },
      async () => (await rangerRoles(db)).map((r) => r.name) as never,
    );
    app.get(
      `${RANGER_V2}/roles/name/:name`,
      {
        config: directoryRead,
        schema: {
          tags,
          summary: "Get a role by name (Ranger v2)",
          params: NameParams,
          querystring: OpenQuery,
          response: { 200: RangerRole },
        },
      },
      async (request) => {
        const role = (await rangerRoles(db)).find((r) => r.name === request.params.name);
        if (!role) throw RoleNotFound(`role \`${request.params.name}\` not found`);
        return role as never;
      },
    );
    app.get(
      `${RANGER_V2}/roles/:id`,
      {
        config: directoryRead,
        schema: { tags, summary: "Get a role by id (Ranger v2)", params: IdParams, response: { 200: RangerRole } },
      },
      async (request) => {
        const role = (await rangerRoles(db)).find((r) => r.id === request.params.id);
        if (!role) throw RoleNotFound(`role ${request.params.id} not found`);
        return role as never;
      },
    );
    app.get(
      `${RANGER_V2}/roles/user/:user`,
      {
        config: directoryRead,
        schema: {
          tags,
          summary: "Roles of a user (Ranger v2)",
          description: "The roles the user holds directly, through its groups, or through composite roles.",
          params: UserParams,
          response: { 200: Type.Array(Type.String()) },
        },
      },
      async (request) => {
        const principal = await app.decisions.principals.byUsername(request.params.user);
        if (!principal) throw UserNotFound(`user \`${request.params.user}\` not found`);
        return [...principal.roles].sort() as never;
      },
    );

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
    app.get(
      `${RANGER_V2}/zones/name/:name`,
      {
        config: policyRead,
        schema: {
          tags,
          summary: "Get a security zone by name (Ranger v2)",
          params: NameParams,
          response: { 200: Zone },
        },
      },
      async (request) => (await getZone(db.kysely, request.params.name)) as never,
    );
    app.get(
      `${RANGER_V2}/zones/:id`,
      {
        config: policyRead,
        schema: { tags, summary: "Get a security zone by id (Ranger v2)", params: IdParams, response: { 200: Zone } },
      },
      async (request) => {
        const [zone] = await presentZones(db.kysely, [request.params.id]);
        if (!zone) throw ZoneNotFound(`security zone ${request.params.id} not found`);
        return zone as never;
      },
    );
  };
}
