import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { assertSameOrg, resolveOrgId } from "../directory/org-scope.ts";
import { pageById } from "../http/cursor.ts";
import { IdParams, Page, PageQuery } from "../http/schemas.ts";
import type { Db } from "../storage/db.ts";
import { createScimClient, getScimClient, presentScimClient, revokeScimClient } from "./clients.service.ts";
import type { ScimTokens } from "./credentials.ts";

const ScimClient = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    orgId: Type.String({ format: "uuid", description: "The one organisation the client provisions" }),
    name: Type.String(),
    prefix: Type.String({ description: "Public part of the token, to recognise it in lists" }),
    createdAt: Type.String({ format: "date-time" }),
    revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { title: "ScimClient" },
);

const NewScimClient = Type.Intersect(
  [
    ScimClient,
    Type.Object({
      token: Type.String({ description: "The bearer token for the identity provider. Shown once: store it now" }),
    }),
  ],
  { title: "NewScimClient" },
);

/** SCIM clients (`/v1/scim-clients`): the credentials identity providers provision with (docs/scim.md). */
export function scimClientRoutes(db: Db, tokens: ScimTokens): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/v1/scim-clients",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["scim"],
          summary: "Create a SCIM client",
          description:
            "A bearer token bound to one organisation, for an identity provider's SCIM provisioning (`/scim/v2`). It is shown once; only its hash is stored.",
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 128, description: "Which provider uses it" }),
              orgId: Type.Optional(
                Type.String({ format: "uuid", description: "Defaults to the caller's organisation" }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 201: NewScimClient },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, request.body.orgId);
        const client = await db.transaction((tx) =>
          createScimClient(tx, auditContextOf(request), { orgId, name: request.body.name }),
        );
        return reply.code(201).header("location", `/v1/scim-clients/${client.id}`).send(client);
      },
    );

    app.get(
      "/v1/scim-clients",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["scim"],
          summary: "List SCIM clients",
          querystring: Type.Intersect([
            PageQuery,
            Type.Object({ orgId: Type.Optional(Type.String({ format: "uuid" })) }),
          ]),
          response: { 200: Page(ScimClient, "ScimClientPage") },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const orgId = await resolveOrgId(db.kysely, request.actor, request.query.orgId);
        const query = db.kysely.selectFrom("scim_clients").where("org_id", "=", orgId);
        const page = await pageById(query, limit, cursor);
        return { items: page.rows.map(presentScimClient), nextCursor: page.nextCursor, total: page.total };
      },
    );

    app.get(
      "/v1/scim-clients/:id",
      {
        config: { ability: "credentials.write" },
        schema: { tags: ["scim"], summary: "Read a SCIM client", params: IdParams, response: { 200: ScimClient } },
      },
      async (request) => {
        const client = await getScimClient(db.kysely, request.params.id);
        assertSameOrg(request.actor, client.orgId);
        return client;
      },
    );

    app.delete(
      "/v1/scim-clients/:id",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["scim"],
          summary: "Revoke a SCIM client",
          description: "Its token stops working at once; what it provisioned stays.",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const client = await getScimClient(db.kysely, request.params.id);
        assertSameOrg(request.actor, client.orgId);
        await db.transaction((tx) => revokeScimClient(tx, auditContextOf(request), request.params.id));
        tokens.forget();
        return reply.code(204).send(null);
      },
    );
  };
}
