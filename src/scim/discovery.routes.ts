import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { NotFound } from "../errors.ts";
import { baseOf, listResponse, SCIM_CONTENT_TYPE, ScimIdParams, sendScim } from "./http.ts";
import type { ScimAuth } from "./index.ts";
import { resourceTypes, schemaDocuments, serviceProviderConfig } from "./schemas.ts";

const TAGS = ["scim"];

/** `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` (RFC 7644 §4): what this server supports. */
export function scimDiscoveryRoutes(auth: ScimAuth): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/scim/v2/ServiceProviderConfig",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "What the SCIM server supports" },
      },
      async (request, reply) => sendScim(reply, 200, serviceProviderConfig(baseOf(request))),
    );

    app.get(
      "/scim/v2/ResourceTypes",
      { config: { ...auth, ability: "directory.read" }, schema: { tags: TAGS, summary: "SCIM resource types" } },
      async (request, reply) => {
        const all = resourceTypes(baseOf(request));
        return reply.header("content-type", SCIM_CONTENT_TYPE).send(listResponse(all, all.length, 1));
      },
    );

    app.get(
      "/scim/v2/ResourceTypes/:id",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "One SCIM resource type", params: ScimIdParams },
      },
      async (request, reply) => {
        const found = resourceTypes(baseOf(request)).find((r) => r.id === request.params.id);
        if (!found) throw NotFound(`resource type \`${request.params.id}\` not found`);
        return sendScim(reply, 200, found);
      },
    );

    app.get(
      "/scim/v2/Schemas",
      { config: { ...auth, ability: "directory.read" }, schema: { tags: TAGS, summary: "SCIM schemas" } },
      async (request, reply) => {
        const all = schemaDocuments(baseOf(request));
        return reply.header("content-type", SCIM_CONTENT_TYPE).send(listResponse(all, all.length, 1));
      },
    );

    app.get(
      "/scim/v2/Schemas/:id",
      {
        config: { ...auth, ability: "directory.read" },
        schema: { tags: TAGS, summary: "One SCIM schema", params: ScimIdParams },
      },
      async (request, reply) => {
        const found = schemaDocuments(baseOf(request)).find((s) => s.id === request.params.id);
        if (!found) throw NotFound(`schema \`${request.params.id}\` not found`);
        return sendScim(reply, 200, found);
      },
    );
  };
}
