import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, Type } from "typebox";
import type { Actor } from "./actor.ts";

const WhoAmIResponse = Type.Object(
  {
    sub: Type.String({ description: "Subject: Keycloak `sub`, Gatehouse user or service account id, or `psk`" }),
    auth_method: Type.Union(
      [
        Type.Literal("keycloak_token"),
        Type.Literal("user_psk"),
        Type.Literal("general_psk"),
        Type.Literal("service_account"),
      ],
      { description: "Which credential resolved the identity (`service_account` is a Gatehouse extension)" },
    ),
    preferred_username: Type.Union([Type.String(), Type.Null()]),
    email: Type.Union([Type.String(), Type.Null()]),
    full_name: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String(), { description: "Realm roles (for PSKs: the Gatehouse roles held)" }),
    client_roles: Type.Array(Type.String(), { description: "Client roles" }),
  },
  { title: "WhoAmIResponse" },
);

/** The native whoami body (`GET /v1/whoami`), also the `actor` of a console session. */
export const NativeWhoAmI = Type.Object(
  {
    actor: Type.Object({
      type: Type.String(),
      id: Type.Union([Type.String(), Type.Null()]),
      name: Type.String(),
      authMethod: Type.String(),
      orgId: Type.Union([Type.String(), Type.Null()]),
      email: Type.Union([Type.String(), Type.Null()]),
      fullName: Type.Union([Type.String(), Type.Null()]),
    }),
    roles: Type.Array(Type.String(), { description: "Built-in Gatehouse roles held" }),
    permissions: Type.Array(Type.String(), { description: "Permissions those roles grant (`*` = all)" }),
    tokenRoles: Type.Object({ realm: Type.Array(Type.String()), client: Type.Array(Type.String()) }),
  },
  { title: "WhoAmI" },
);

/** `GET /api/identity/whoami` (Nx1's exact shape) and `GET /v1/whoami` (native). */
export const whoamiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/api/identity/whoami",
    {
      config: { ability: "authenticated" },
      schema: {
        tags: ["nx1"],
        summary: "Resolve the caller's identity and roles (Nx1)",
        operationId: "whoami_api_identity_whoami_get",
        description: "Nx1-compatible. Send `Authorization: Bearer <token>` or `Authorization-PSK: <psk>`.",
        response: { 200: WhoAmIResponse },
      },
    },
    async (request) => {
      const actor = request.actor;
      return {
        sub: actor.id ?? actor.name,
        auth_method: actor.authMethod as "keycloak_token" | "user_psk" | "general_psk" | "service_account",
        preferred_username: actor.name,
        email: actor.email,
        full_name: actor.fullName,
        roles: actor.realmRoles.length > 0 || actor.type === "token" ? actor.realmRoles : actor.roles,
        client_roles: actor.clientRoles,
      };
    },
  );

  app.get(
    "/v1/whoami",
    {
      config: { ability: "authenticated" },
      schema: { tags: ["credentials"], summary: "Who am I", response: { 200: NativeWhoAmI } },
    },
    async (request) => presentWhoAmI(request.actor),
  );
};

/** The native whoami body of an actor. */
export function presentWhoAmI(a: Actor): Static<typeof NativeWhoAmI> {
  return {
    actor: {
      type: a.type,
      id: a.id,
      name: a.name,
      authMethod: a.authMethod,
      orgId: a.orgId,
      email: a.email,
      fullName: a.fullName,
    },
    roles: a.roles,
    permissions: [...a.permissions].sort(),
    tokenRoles: { realm: a.realmRoles, client: a.clientRoles },
  };
}
