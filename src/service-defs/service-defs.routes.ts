import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { RangerServiceDef } from "../engine/types.ts";
import { ServiceDefNotFound, ServiceNotFound } from "../errors.ts";
import { Service } from "../policies/policies.schemas.ts";
import type { Db } from "../storage/db.ts";
import {
  createService,
  createServiceDef,
  deleteService,
  deleteServiceDef,
  ensureBuiltins,
  updateService,
  updateServiceDef,
} from "./service-defs.service.ts";
import {
  findService,
  findServiceDef,
  listServiceDefs,
  listServices,
  type Service as ServiceT,
} from "./service-defs.store.ts";

const ServiceDef = Type.Object(
  {
    id: Type.Optional(Type.Integer()),
    name: Type.String({ minLength: 1, maxLength: 64 }),
    displayName: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    options: Type.Optional(Type.Record(Type.String(), Type.String())),
    resources: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    accessTypes: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  },
  {
    title: "ServiceDef",
    additionalProperties: true,
    description: "Ranger service-def JSON (resources, accessTypes, policyConditions, dataMaskDef, rowFilterDef, ...)",
  },
);

/** A service as `POST /v1/services` takes it (also the Ranger v2 API's field rules). */
export const ServiceInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: "^[A-Za-z0-9_.-]+$" }),
    type: Type.String({ minLength: 1, description: "Service-def name: `trino`, `hive`, `hdfs` or a custom one" }),
    displayName: Type.Optional(Type.String({ maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    configs: Type.Optional(Type.Record(Type.String(), Type.String())),
    isEnabled: Type.Optional(Type.Boolean()),
    tagService: Type.Optional(
      Type.Union([Type.String({ maxLength: 255 }), Type.Null()], {
        description:
          "Tag service whose tag-based policies apply to this service (a service of type `tag`, e.g. `tags`); null or empty unlinks",
      }),
    ),
  },
  { additionalProperties: false },
);
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
const ServiceParams = Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) });

/** Presents a service with Ranger's epoch-millisecond times. */
export function presentService(s: ServiceT) {
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    displayName: s.displayName,
    description: s.description,
    configs: s.configs,
    isEnabled: s.isEnabled,
    policyVersion: s.policyVersion,
    policyUpdateTime: s.policyUpdateTime ? s.policyUpdateTime.getTime() : null,
    tagService: s.tagService,
    tagVersion: s.tagVersion,
    tagUpdateTime: s.tagUpdateTime ? s.tagUpdateTime.getTime() : null,
    createTime: s.createdAt.getTime(),
    updateTime: s.updatedAt.getTime(),
  };
}

/**
 * `/v1/service-defs` and `/v1/services`: the Ranger service catalogue. When the app becomes
 * ready the built-in service-defs are refreshed and the `trino` and Nx1 services created.
 */
export function serviceDefRoutes(db: Db, nx1Service: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook("onReady", () => ensureBuiltins(db, nx1Service));
    const tags = ["services"];
    app.get(
      "/v1/service-defs",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "List service-defs",
          response: { 200: Type.Object({ items: Type.Array(ServiceDef) }) },
        },
      },
      async () => ({ items: (await listServiceDefs(db.kysely)).map((d) => d.def as Record<string, unknown> as never) }),
    );
    app.get(
      "/v1/service-defs/:name",
      {
        config: { ability: "policy.read" },
        schema: { tags, summary: "Get a service-def", params: NameParams, response: { 200: ServiceDef } },
      },
      async (request) => {
        const def = await findServiceDef(db.kysely, request.params.name);
        if (!def) throw ServiceDefNotFound(`service-def \`${request.params.name}\` not found`);
        return def.def as never;
      },
    );
    app.post(
      "/v1/service-defs",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Add a custom service-def",
          description:
            "Validated: unique names, existing parents without cycles, implied grants and mask/row-filter entries naming base definitions.",
          body: ServiceDef,
          response: { 201: ServiceDef },
        },
      },
      async (request, reply) => {
        const body = request.body as unknown as RangerServiceDef;
        const id = await db.transaction((tx) => createServiceDef(tx, auditContextOf(request), body));
        return reply.code(201).send({ ...body, id } as never);
      },
    );
    app.put(
      "/v1/service-defs/:name",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Replace a custom service-def",
          description:
            "The body replaces the def, validated as on create (400 SERVICE_DEF_INVALID names the field); the name cannot change; built-in defs are 409 SERVICE_DEF_IN_USE. Services of the type reload their policies.",
          params: NameParams,
          body: ServiceDef,
          response: { 200: ServiceDef },
        },
      },
      async (request) => {
        const body = request.body as unknown as RangerServiceDef;
        const stored = await db.transaction((tx) =>
          updateServiceDef(tx, auditContextOf(request), request.params.name, body),
        );
        return stored.def as never;
      },
    );
    app.delete(
      "/v1/service-defs/:name",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Delete an unused custom service-def",
          params: NameParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteServiceDef(tx, auditContextOf(request), request.params.name));
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/v1/services",
      {
        config: { ability: "policy.read" },
        schema: {
          tags,
          summary: "List services",
          querystring: Type.Object({ type: Type.Optional(Type.String()) }),
          response: { 200: Type.Object({ items: Type.Array(Service) }) },
        },
      },
      async (request) => ({ items: (await listServices(db.kysely, request.query.type)).map(presentService) }),
    );
    app.post(
      "/v1/services",
      {
        config: { ability: "policy.write" },
        schema: { tags, summary: "Create a service", body: ServiceInput, response: { 201: Service } },
      },
      async (request, reply) => {
        const s = await db.transaction((tx) => createService(tx, auditContextOf(request), request.body));
        return reply.code(201).header("location", `/v1/services/${s.name}`).send(presentService(s));
      },
    );
    app.get(
      "/v1/services/:service",
      {
        config: { ability: "policy.read" },
        schema: { tags, summary: "Get a service", params: ServiceParams, response: { 200: Service } },
      },
      async (request) => {
        const found = await findService(db.kysely, request.params.service);
        if (!found) throw ServiceNotFound(`service \`${request.params.service}\` not found`);
        return presentService(found);
      },
    );
    app.patch(
      "/v1/services/:service",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Update a service",
          description:
            "Changes display name, description, configs (replaced whole), enabled state or tag service; the type cannot change. " +
            "Linking or unlinking a tag service bumps the policy version, so plugins download the policies again with the tag policies.",
          params: ServiceParams,
          body: Type.Partial(Type.Omit(ServiceInput, ["name", "type"]), { additionalProperties: false }),
          response: { 200: Service },
        },
      },
      async (request) => {
        const s = await db.transaction((tx) =>
          updateService(tx, auditContextOf(request), request.params.service, request.body),
        );
        return presentService(s);
      },
    );
    app.delete(
      "/v1/services/:service",
      {
        config: { ability: "policy.write" },
        schema: {
          tags,
          summary: "Delete a service and its policies",
          params: ServiceParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteService(tx, auditContextOf(request), request.params.service));
        return reply.code(204).send(null);
      },
    );
  };
}
