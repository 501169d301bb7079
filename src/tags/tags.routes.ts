import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { type Static, Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { parseResourceParam } from "../decisions/access.ts";
import type { RangerPolicyResources } from "../engine/index.ts";
import { ServiceNotFound } from "../errors.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { Page, PageQuery } from "../http/schemas.ts";
import { PolicyResource } from "../policies/policies.schemas.ts";
import type { Db } from "../storage/db.ts";
import { importServiceTags, type ServiceTagsImport } from "./import-service-tags.ts";
import { DEFAULT_TAG_LOG, type TagLogOptions } from "./tag-changes.ts";
import {
  TagDef,
  TagDefInput,
  TaggedResource,
  TaggedResourceParams,
  TaggedResourceTagParams,
  TagResourceInput,
} from "./tags.schemas.ts";
import {
  createTagDef,
  deleteTagDef,
  deleteTaggedResource,
  getTagDef,
  getTaggedResource,
  listTagDefs,
  tagResource,
  untagResource,
} from "./tags.service.ts";
import { findTagTarget, listResources, presentResources, serviceResourceSignature } from "./tags.store.ts";
import { TAG_TYPE_PATTERN } from "./validate-tags.ts";

/** Body limit of `importservicetags` (64 MB, as the policy import). */
const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

const ServiceParams = Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) });
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });
const ResourceListQuery = Type.Object({
  ...PageQuery.properties,
  tag: Type.Optional(Type.String({ maxLength: 255, description: "Only resources carrying a tag of this type" })),
  resource: Type.Optional(
    Type.String({
      maxLength: 4096,
      description: "Only the resource with exactly these elements, e.g. `catalog=sales,schema=eu,table=orders`",
    }),
  ),
});

/** Ranger's `ServiceTags` as a tag source sends it; unknown fields (tagVersion, isDelta, ...) are ignored. */
export const ServiceTagsImportBody = Type.Object(
  {
    op: Type.Optional(Type.Union([Type.Literal("add_or_update"), Type.Literal("replace"), Type.Literal("delete")])),
    serviceName: Type.String({ minLength: 1, maxLength: 255 }),
    tagDefinitions: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            name: Type.String({ pattern: TAG_TYPE_PATTERN }),
            attributeDefs: Type.Optional(
              Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), type: Type.Optional(Type.String()) })),
            ),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    tags: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            guid: Type.Optional(Type.String()),
            type: Type.String({ minLength: 1, maxLength: 255 }),
            attributes: Type.Optional(Type.Record(Type.String(), Type.String())),
            validityPeriods: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    serviceResources: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Type.Optional(Type.Integer()),
            guid: Type.Optional(Type.String()),
            serviceName: Type.Optional(Type.String()),
            resourceElements: Type.Record(Type.String(), PolicyResource),
            ownerUser: Type.Optional(Type.String({ maxLength: 255 })),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    resourceToTagIds: Type.Optional(Type.Record(Type.String(), Type.Array(Type.Integer()))),
  },
  { additionalProperties: true, title: "ServiceTagsImport" },
);

/** `catalog=a,schema=b` as resource elements with one literal value each. */
function elementsOf(text: string): RangerPolicyResources {
  const out: RangerPolicyResources = {};
  for (const [k, v] of Object.entries(parseResourceParam(text)))
    out[k] = { values: [v], isExcludes: false, isRecursive: false };
  return out;
}

/**
 * Resource tags: tag types (`/v1/tag-defs`), the tagged resources of a service
 * (`/v1/services/{service}/tagged-resources`), and Ranger's bulk `PUT /service/tags/importservicetags`
 * for tag sources such as Atlas tag sync. Reads need `policy.read`, writes `policy.write`. Writes
 * under `/v1` reach this process's engines through the decision domain's after-write hook; the
 * Ranger import route catches them up itself (that hook leaves `/service/` alone). Every write
 * logs its change (`log`: how many tag versions the change log keeps per service).
 */
export function tagRoutes(db: Db, log: TagLogOptions = DEFAULT_TAG_LOG): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ["tags"];
    const target = async (name: string) => {
      const found = await findTagTarget(db.kysely, name);
      if (!found) throw ServiceNotFound(`service \`${name}\` not found`);
      return found;
    };

    app.get(
      "/v1/tag-defs",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "List tag types",
          querystring: PageQuery,
          response: { 200: Page(TagDef, "TagDefPage") },
        },
      },
      async (request) => {
        const after = request.query.cursor ? decodeCursor<{ id: number }>(request.query.cursor, ["id"]).id : 0;
        const { rows, total } = await listTagDefs(db.kysely, after, request.query.limit + 1);
        const page = pageOf(rows, request.query.limit, (r) => ({ id: r.id }));
        return { items: page.rows, nextCursor: page.nextCursor, total };
      },
    );
    app.post(
      "/v1/tag-defs",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Define a tag type",
          description:
            "A tag type (Ranger `RangerTagDef`) with the attributes its tags may carry, e.g. `PII` with `level`.",
          body: TagDefInput,
          response: { 201: TagDef },
        },
      },
      async (request, reply) => {
        const def = await db.transaction((tx) => createTagDef(tx, auditContextOf(request), request.body));
        return reply
          .code(201)
          .header("location", `/v1/tag-defs/${encodeURIComponent(def.name)}`)
          .send(def);
      },
    );
    app.get(
      "/v1/tag-defs/:name",
      {
        config: { ability: "policy.read" },
        schema: { tags, summary: "Get a tag type", params: NameParams, response: { 200: TagDef } },
      },
      async (request) => getTagDef(db.kysely, request.params.name),
    );
    app.delete(
      "/v1/tag-defs/:name",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Delete an unused tag type",
          params: NameParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteTagDef(tx, auditContextOf(request), request.params.name));
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/v1/services/:service/tagged-resources",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Tag a resource",
          description:
            "Attaches tags to a resource of the service (found by its elements, or added): afterwards it carries each given tag, " +
            "one per type (a tag of the same type is replaced). 201 when the resource was new, 200 otherwise. Bumps the service's " +
            "`tagVersion` when anything changed; decisions of the service then apply the tag policies of its tag service.",
          params: ServiceParams,
          body: TagResourceInput,
          response: { 200: TaggedResource, 201: TaggedResource },
        },
      },
      async (request, reply) => {
        const t = await target(request.params.service);
        const body = request.body as Parameters<typeof tagResource>[3];
        const result = await db.transaction((tx) => tagResource(tx, auditContextOf(request), t, body, log));
        const url = `/v1/services/${encodeURIComponent(t.name)}/tagged-resources/${result.resource.id}`;
        return reply
          .code(result.created ? 201 : 200)
          .header("location", url)
          .send(result.resource);
      },
    );
    app.get(
      "/v1/services/:service/tagged-resources",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "List tagged resources",
          description:
            "The service's tagged resources with their tags, by id; `tag` keeps those carrying a tag type, `resource` finds one resource by its elements.",
          params: ServiceParams,
          querystring: ResourceListQuery,
          response: { 200: Page(TaggedResource, "TaggedResourcePage") },
        },
      },
      async (request) => {
        const t = await target(request.params.service);
        const q = request.query;
        const after = q.cursor ? decodeCursor<{ id: number }>(q.cursor, ["id"]).id : 0;
        const filter = {
          ...(q.tag !== undefined ? { tagType: q.tag } : {}),
          ...(q.resource !== undefined ? { signature: serviceResourceSignature(elementsOf(q.resource)) } : {}),
        };
        const { rows, total } = await listResources(db.kysely, t.id, filter, after, q.limit + 1);
        const page = pageOf(rows, q.limit, (r) => ({ id: r.id }));
        return {
          items: await presentResources(db.kysely, t.name, page.rows),
          nextCursor: page.nextCursor,
          total,
        };
      },
    );
    app.get(
      "/v1/services/:service/tagged-resources/:id",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "Get a tagged resource with its tags",
          params: TaggedResourceParams,
          response: { 200: TaggedResource },
        },
      },
      async (request) => getTaggedResource(db.kysely, await target(request.params.service), request.params.id),
    );
    app.delete(
      "/v1/services/:service/tagged-resources/:id",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Delete a tagged resource",
          description: "Removes the resource and its tag mappings; tags no other resource carries go with it.",
          params: TaggedResourceParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const t = await target(request.params.service);
        await db.transaction((tx) => deleteTaggedResource(tx, auditContextOf(request), t, request.params.id, log));
        return reply.code(204).send(null);
      },
    );
    app.delete(
      "/v1/services/:service/tagged-resources/:id/tags/:type",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Untag a resource",
          description: "Removes the resource's tag of this type; a resource left without tags is removed.",
          params: TaggedResourceTagParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const t = await target(request.params.service);
        const p = request.params;
        await db.transaction((tx) => untagResource(tx, auditContextOf(request), t, p.id, p.type, log));
        return reply.code(204).send(null);
      },
    );

    const importHandler = async (
      request: FastifyRequest<{ Body: Static<typeof ServiceTagsImportBody> }>,
      reply: FastifyReply,
    ) => {
      await db.transaction((tx) =>
        importServiceTags(tx, auditContextOf(request), request.body as unknown as ServiceTagsImport, log),
      );
      // Read-your-writes in this process: the decision domain's after-write hook skips /service/.
      await app.decisions.engines.refreshAll();
      return reply.code(204).send(null);
    };
    for (const url of ["/service/tags/importservicetags", "/service/tags/importservicetags/"]) {
      app.put(
        url,
        {
          config: { ability: "policy.write" },
          // A full sync from Atlas carries every tagged entity of a cluster: the policy import's limit.
          bodyLimit: IMPORT_BODY_LIMIT,
          schema: {
            tags: ["distribution"],
            summary: "Import resource tags (Ranger ServiceTags)",
            description:
              "Ranger's tag import for tag sources such as Atlas tag sync: `op` `add_or_update` (default), `replace` (the service's " +
              "resources are replaced) or `delete`. Validated whole, applied in one transaction; 204.",
            body: ServiceTagsImportBody,
            response: { 204: Type.Null() },
          },
        },
        importHandler,
      );
    }
  };
}
