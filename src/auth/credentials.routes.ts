import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { ServiceAccountNotFound } from "../errors.ts";
import { pageById } from "../http/cursor.ts";
import { IdParams, Page, PageQuery } from "../http/schemas.ts";
import type { Db } from "../storage/db.ts";
import { BUILTIN_ROLES } from "./abilities.ts";
import { createApiKey, presentApiKey, revokeApiKey } from "./api-keys.service.ts";
import {
  createServiceAccount,
  deleteServiceAccount,
  presentServiceAccount,
  rotateServiceAccountSecret,
} from "./service-accounts.service.ts";

const ApiKey = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    userId: Type.String({ format: "uuid" }),
    name: Type.String(),
    prefix: Type.String({ description: "Public part of the key, to recognise it in lists" }),
    createdAt: Type.String({ format: "date-time" }),
    expiresAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { title: "ApiKey" },
);

const NewApiKey = Type.Intersect(
  [ApiKey, Type.Object({ key: Type.String({ description: "The key itself. Shown once: store it now" }) })],
  { title: "NewApiKey" },
);

const RoleName = Type.Union(
  BUILTIN_ROLES.map((r) => Type.Literal(r)),
  { description: "A built-in role" },
);

const ServiceAccount = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    orgId: Type.String({ format: "uuid" }),
    name: Type.String(),
    description: Type.String(),
    clientId: Type.String({ description: "User name of `Authorization: Basic`" }),
    roles: Type.Array(Type.String()),
    disabled: Type.Boolean(),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "ServiceAccount" },
);

const NewServiceAccount = Type.Intersect(
  [
    ServiceAccount,
    Type.Object({ clientSecret: Type.String({ description: "Password of `Authorization: Basic`. Shown once" }) }),
  ],
  { title: "NewServiceAccount" },
);

/** API keys (`/v1/api-keys`) and service accounts (`/v1/service-accounts`). */
export function credentialRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/v1/api-keys",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "Issue an API key for a user",
          description:
            "The key authenticates as the user with `Authorization-PSK: <key>` (Nx1 `user_psk`). It is shown once; only its hash is stored.",
          body: Type.Object(
            {
              userId: Type.String({ format: "uuid" }),
              name: Type.String({ minLength: 1, maxLength: 128, description: "What the key is for" }),
              expiresAt: Type.Optional(Type.String({ format: "date-time" })),
            },
            { additionalProperties: false },
          ),
          response: { 201: NewApiKey },
        },
      },
      async (request, reply) => {
        const key = await db.transaction((tx) => createApiKey(tx, auditContextOf(request), request.body));
        return reply.code(201).header("location", `/v1/api-keys/${key.id}`).send(key);
      },
    );

    app.get(
      "/v1/api-keys",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "List API keys",
          querystring: Type.Intersect([
            PageQuery,
            Type.Object({ userId: Type.Optional(Type.String({ format: "uuid" })) }),
          ]),
          response: { 200: Page(ApiKey, "ApiKeyPage") },
        },
      },
      async (request) => {
        const { userId, limit, cursor } = request.query;
        let query = db.kysely.selectFrom("api_keys");
        if (userId) query = query.where("user_id", "=", userId);
        const page = await pageById(query, limit, cursor);
        return { items: page.rows.map(presentApiKey), nextCursor: page.nextCursor, total: page.total };
      },
    );

    app.delete(
      "/v1/api-keys/:id",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "Revoke an API key",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => revokeApiKey(tx, auditContextOf(request), request.params.id));
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/v1/service-accounts",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "Create a service account",
          description: "Machine clients authenticate with `Authorization: Basic base64(clientId:clientSecret)`.",
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 128 }),
              description: Type.Optional(Type.String({ maxLength: 1024 })),
              roles: Type.Array(RoleName, { uniqueItems: true, description: "Built-in roles it holds" }),
              orgId: Type.Optional(Type.String({ format: "uuid" })),
            },
            { additionalProperties: false },
          ),
          response: { 201: NewServiceAccount },
        },
      },
      async (request, reply) => {
        const account = await db.transaction((tx) => createServiceAccount(tx, auditContextOf(request), request.body));
        return reply.code(201).header("location", `/v1/service-accounts/${account.id}`).send(account);
      },
    );

    app.get(
      "/v1/service-accounts",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "List service accounts",
          querystring: PageQuery,
          response: { 200: Page(ServiceAccount, "ServiceAccountPage") },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const page = await pageById(db.kysely.selectFrom("service_accounts"), limit, cursor);
        return { items: page.rows.map(presentServiceAccount), nextCursor: page.nextCursor, total: page.total };
      },
    );

    app.get(
      "/v1/service-accounts/:id",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "Get a service account",
          params: IdParams,
          response: { 200: ServiceAccount },
        },
      },
      async (request) => {
        const row = await db.kysely
          .selectFrom("service_accounts")
          .where("id", "=", request.params.id)
          .selectAll()
          .executeTakeFirst();
        if (!row) throw ServiceAccountNotFound(`service account \`${request.params.id}\` not found`);
        return presentServiceAccount(row);
      },
    );

    app.post(
      "/v1/service-accounts/:id/secret",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "Rotate a service account's secret",
          params: IdParams,
          response: { 200: NewServiceAccount },
        },
      },
      async (request) =>
        db.transaction((tx) => rotateServiceAccountSecret(tx, auditContextOf(request), request.params.id)),
    );

    app.delete(
      "/v1/service-accounts/:id",
      {
        config: { ability: "credentials.write" },
        schema: {
          tags: ["credentials"],
          summary: "Delete a service account",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteServiceAccount(tx, auditContextOf(request), request.params.id));
        return reply.code(204).send(null);
      },
    );
  };
}
