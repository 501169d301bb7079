import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fieldError, ServiceNotFound, ValidationFailed } from "../../errors.ts";
import { Service } from "../../policies/policies.schemas.ts";
import { presentService, ServiceInput } from "../../service-defs/service-defs.routes.ts";
import {
  createService,
  deleteService,
  type ServiceInput as ServiceFields,
  updateService,
} from "../../service-defs/service-defs.service.ts";
import { findService, findServiceById, type Service as ServiceT } from "../../service-defs/service-defs.store.ts";
import type { Db, Queryable, Tx } from "../../storage/db.ts";
import { rangerErrorShape } from "./errors.ts";
import { IdParams, NameParams } from "./params.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
const write = { ability: "policy.write", errorShape: rangerErrorShape } as const;
const fields = ServiceInput.properties;
const rangerFields = {
  id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  displayName: fields.displayName,
  description: fields.description,
  configs: fields.configs,
  isEnabled: fields.isEnabled,
  tagService: fields.tagService,
};
const note =
  "Ranger's `RangerService`; other fields (`guid`, `version`, times, `policyVersion`, ...) are accepted and ignored.";
const RangerServiceInput = Type.Object(
  { name: fields.name, type: fields.type, ...rangerFields },
  { title: "RangerServiceInput", additionalProperties: true, description: note },
);
const RangerServiceUpdate = Type.Object(
  { name: Type.Optional(fields.name), type: Type.Optional(fields.type), ...rangerFields },
  { title: "RangerServiceUpdate", additionalProperties: true, description: note },
);
/** A RangerService PUT body: the native service fields and Ranger's `id`. */
type UpdateBody = ServiceFields & { id?: number | null };

/** The service Ranger numbers `id`; SERVICE_NOT_FOUND (404) otherwise. */
async function serviceById(db: Queryable, id: number): Promise<ServiceT> {
  const found = await findServiceById(db, id);
  if (!found) throw ServiceNotFound(`service ${id} not found`);
  return found;
}

/**
 * Ranger's update: the body replaces the service (an absent description, display name or tag
 * service is cleared, absent configs are empty, absent `isEnabled` is true, as Ranger's defaults).
 * Its name and type cannot change here: another `name` or `type` is a 400 naming the field.
 */
async function replaceService(
  tx: Tx,
  request: Parameters<typeof auditContextOf>[0],
  current: ServiceT,
  body: UpdateBody,
) {
  if (body.id !== undefined && body.id !== null && body.id !== current.id) {
    throw fieldError(
      ValidationFailed,
      "body.id",
      "idMatchesPath",
      `${body.id} does not match the service (${current.id})`,
    );
  }
  if (body.name !== undefined && body.name !== current.name) {
    throw fieldError(
      ValidationFailed,
      "body.name",
      "immutable",
      `a service cannot be renamed (\`${current.name}\` to \`${body.name}\`); create a new service instead`,
    );
  }
  if (body.type !== undefined && body.type !== current.type) {
    throw fieldError(
      ValidationFailed,
      "body.type",
      "immutable",
      `the type of service \`${current.name}\` is \`${current.type}\`; it cannot change`,
    );
  }
  return updateService(tx, auditContextOf(request), current.name, {
    displayName: body.displayName ?? "",
    description: body.description ?? "",
    configs: body.configs ?? {},
    isEnabled: body.isEnabled ?? true,
    tagService: body.tagService ?? null,
  });
}

/**
 * Ranger's v2 service writes (`ServiceREST` through `PublicAPIsv2`) over the native service
 * catalogue (`/v1/services`): one transaction each through its service functions, which validate
 * (service-def exists, tag service is a `tag` service, unique name), bump versions and audit.
 */
export function rangerServiceWriteRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      `${RANGER_V2}/service`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a service (Ranger v2)",
          body: RangerServiceInput,
          response: { 200: Service },
        },
      },
      async (request) => {
        const { name, type, displayName, description, configs, isEnabled, tagService } = request.body;
        const created = await db.transaction((tx) =>
          createService(tx, auditContextOf(request), {
            name,
            type,
            ...(displayName !== undefined ? { displayName } : {}),
            ...(description !== undefined ? { description } : {}),
            ...(configs !== undefined ? { configs } : {}),
            ...(isEnabled !== undefined ? { isEnabled } : {}),
            ...(tagService !== undefined ? { tagService } : {}),
          }),
        );
        return presentService(created) as never;
      },
    );

    const description =
      "The body replaces the display name, description, configs, enabled state and tag service (absent: empty, enabled, no tag service, as in Ranger). The name and type cannot change (400).";
    app.put(
      `${RANGER_V2}/service/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Replace a service (Ranger v2)",
          description: `${description} A body \`id\` other than the path's is a 400.`,
          params: IdParams,
          body: RangerServiceUpdate,
          response: { 200: Service },
        },
      },
      async (request) => {
        const updated = await db.transaction(async (tx) =>
          replaceService(tx, request, await serviceById(tx, request.params.id), request.body as UpdateBody),
        );
        return presentService(updated) as never;
      },
    );
    app.put(
      `${RANGER_V2}/service/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Replace a service by name (Ranger v2)",
          description: `${description} The body's \`id\` is ignored, as in Ranger.`,
          params: NameParams,
          body: RangerServiceUpdate,
          response: { 200: Service },
        },
      },
      async (request) => {
        const updated = await db.transaction(async (tx) => {
          const current = await findService(tx, request.params.name);
          if (!current) throw ServiceNotFound(`service \`${request.params.name}\` not found`);
          return replaceService(tx, request, current, { ...(request.body as UpdateBody), id: null });
        });
        return presentService(updated) as never;
      },
    );

    app.delete(
      `${RANGER_V2}/service/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a service and its policies (Ranger v2)",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction(async (tx) => {
          const current = await serviceById(tx, request.params.id);
          await deleteService(tx, auditContextOf(request), current.name);
        });
        return reply.code(204).send(null);
      },
    );
    app.delete(
      `${RANGER_V2}/service/name/:name`,
      {
        config: write,
        schema: {
          tags,
          summary: "Delete a service by name and its policies (Ranger v2)",
          params: NameParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await db.transaction((tx) => deleteService(tx, auditContextOf(request), request.params.name));
        return reply.code(204).send(null);
      },
    );
  };
}
