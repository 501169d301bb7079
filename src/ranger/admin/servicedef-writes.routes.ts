import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { RangerServiceDef } from "../../engine/types.ts";
import { fieldError, ServiceDefNotFound, ValidationFailed } from "../../errors.ts";
import { createServiceDef, deleteServiceDef, updateServiceDef } from "../../service-defs/service-defs.service.ts";
import { findServiceDef, findServiceDefById, type StoredServiceDef } from "../../service-defs/service-defs.store.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
const write = { ability: "policy.write", errorShape: rangerErrorShape } as const;
const ServiceDef = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 255 }) },
  { additionalProperties: true, description: "RangerServiceDef JSON" },
);
const ServiceDefUpdate = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) },
  { additionalProperties: true, description: "RangerServiceDef JSON; the name cannot change" },
);
const AnyDef = Type.Unknown({ description: "RangerServiceDef JSON" });

/** The service-def Ranger numbers `id`, or SERVICE_DEF_NOT_FOUND (404). */
export async function serviceDefById(db: Queryable, id: number): Promise<StoredServiceDef> {
  const found = await findServiceDefById(db, id);
  if (!found) throw ServiceDefNotFound(`service-def ${id} not found`);
  return found;
}

async function serviceDefByName(db: Queryable, name: string): Promise<StoredServiceDef> {
  const found = await findServiceDef(db, name);
  if (!found) throw ServiceDefNotFound(`service-def \`${name}\` not found`);
  return found;
}

/**
 * Ranger's v2 service-def writes (`PublicAPIsv2#createServiceDef`, `updateServiceDef[ByName]`,
 * `deleteServiceDef[ByName]`) over the native service-def service: a custom def is validated as
 * `POST /v1/service-defs` does; built-in defs are Gatehouse's and cannot change or go (409);
 * a def in use by a service cannot be deleted (409). Creates and updates answer the stored def.
 */
export function rangerServiceDefWriteRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      `${RANGER_V2}/servicedef`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a service-def (Ranger v2)",
          description: "400 SERVICE_DEF_INVALID names what is wrong; 409 SERVICE_DEF_NAME_TAKEN.",
          body: ServiceDef,
          response: { 200: AnyDef },
        },
      },
      async (request) => {
        const body = request.body as unknown as RangerServiceDef;
        return (await db.transaction(async (tx) => {
          await createServiceDef(tx, auditContextOf(request), body);
          return (await serviceDefByName(tx, body.name)).def;
        })) as never;
      },
    );

    const update = async (
      request: Parameters<typeof auditContextOf>[0],
      find: (db: Queryable) => Promise<StoredServiceDef>,
      body: RangerServiceDef,
    ) =>
      db.transaction(async (tx) => {
        const current = await find(tx);
        if (body.id !== undefined && body.id !== null && body.id !== current.id) {
          throw fieldError(
            ValidationFailed,
            "body.id",
            "idMatchesPath",
            `${body.id} does not match the service-def (${current.id})`,
          );
        }
        return (await updateServiceDef(tx, auditContextOf(request), current.name, body)).def;
      });
    app.put(
      `${RANGER_V2}/servicedef/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Replace a service-def by id (Ranger v2)",
          description:
            "The body replaces the def (validated as on create); the name cannot change; built-in defs are 409. Services of the type reload their policies.",
          params: IdParams,
          body: ServiceDefUpdate,
          response: { 200: AnyDef },
        },
      },
      async (request) =>
        (await update(
          request,
          (q) => serviceDefById(q, request.params.id),
          request.body as unknown as RangerServiceDef,
        )) as never,
    );
    app.put(
      `${RANGER_V2}/servicedef/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Replace a service-def by name (Ranger v2)",
          description: "As by id.",
          params: NameParams,
          body: ServiceDefUpdate,
          response: { 200: AnyDef },
        },
      },
      async (request) =>
        (await update(
          request,
          (q) => serviceDefByName(q, request.params.name),
          request.body as unknown as RangerServiceDef,
        )) as never,
    );
    app.delete(
      `${RANGER_V2}/servicedef/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a service-def by id (Ranger v2)",
          description: "409 SERVICE_DEF_IN_USE for a built-in def or one a service uses.",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction(async (tx) => {
          const current = await serviceDefById(tx, request.params.id);
          await deleteServiceDef(tx, auditContextOf(request), current.name);
        });
        return reply.code(204).send(null);
      },
    );
    app.delete(
      `${RANGER_V2}/servicedef/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a service-def by name (Ranger v2)",
          description: "409 SERVICE_DEF_IN_USE for a built-in def or one a service uses.",
          params: NameParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteServiceDef(tx, auditContextOf(request), request.params.name));
        return reply.code(204).send(null);
      },
    );
  };
}
