import { type AuditContext, recordAudit, SYSTEM_CONTEXT } from "../audit/audit.service.ts";
import type { RangerServiceDef } from "../engine/types.ts";
import {
  ServiceDefInUse,
  ServiceDefInvalid,
  ServiceDefNameTaken,
  ServiceDefNotFound,
  ServiceNameTaken,
  ServiceNotFound,
} from "../errors.ts";
import type { Db, Tx } from "../storage/db.ts";
import { BUILTIN_SERVICE_DEFS, TAG_SERVICE } from "./builtin.ts";
import { validateServiceDef } from "./service-def-validate.ts";
import { findServiceDef, type Service, toService } from "./service-defs.store.ts";

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === "23505";
}

/**
 * Upserts the built-in service-defs and creates the `trino` service, the Nx1 service and the `tags`
 * tag service when
 * absent. Runs at every start (idempotent, safe with several servers starting together).
 */
export async function ensureBuiltins(db: Db, nx1Service: string): Promise<void> {
  await db.transaction(async (tx) => {
    for (const def of BUILTIN_SERVICE_DEFS) {
      const { id, ...body } = def;
      await tx
        .insertInto("service_defs")
        .values({ id: id as number, name: def.name, def: JSON.stringify(body), builtin: true })
        .onConflict((oc) =>
          oc
            .column("name")
            .doUpdateSet({ def: JSON.stringify(body), updated_at: new Date() })
            .where("service_defs.builtin", "=", true),
        )
        .execute();
    }
    const services: [string, string][] = [...new Set(["trino", nx1Service])].map((name) => [name, "trino"]);
    services.push([TAG_SERVICE, "tag"]);
    for (const [name, type] of services) {
      const inserted = await tx
        .insertInto("services")
        .values({ name, type, description: "Created at first start", configs: "{}" })
        .onConflict((oc) => oc.column("name").doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) {
        await recordAudit(tx, SYSTEM_CONTEXT, {
          action: "service.created",
          targetType: "service",
          targetId: String(inserted.id),
          after: { name, type },
        });
      }
    }
  });
}

/** Adds a custom service-def after validating it; built-in names cannot be taken. */
export async function createServiceDef(tx: Tx, ctx: AuditContext, def: RangerServiceDef): Promise<number> {
  const details = validateServiceDef(def);
  if (details.length > 0) throw ServiceDefInvalid(details.map((d) => d.message).join("; "), { details });
  if (await findServiceDef(tx, def.name)) throw ServiceDefNameTaken(`service-def \`${def.name}\` exists`);
  const { id: _ignored, ...body } = def;
  const row = await tx
    .insertInto("service_defs")
    .values({ name: def.name, def: JSON.stringify(body), builtin: false })
    .returning("id")
    .executeTakeFirstOrThrow();
  await recordAudit(tx, ctx, {
    action: "service_def.created",
    targetType: "service_def",
    targetId: String(row.id),
    after: { name: def.name },
  });
  return row.id;
}

/** Deletes a custom service-def that no service uses. */
export async function deleteServiceDef(tx: Tx, ctx: AuditContext, name: string): Promise<void> {
  const def = await findServiceDef(tx, name);
  if (!def) throw ServiceDefNotFound(`service-def \`${name}\` not found`);
  if (def.builtin) throw ServiceDefInUse(`service-def \`${name}\` is built in and cannot be deleted`);
  const used = await tx.selectFrom("services").select("name").where("type", "=", name).executeTakeFirst();
  if (used) throw ServiceDefInUse(`service-def \`${name}\` is used by service \`${used.name}\``);
  await tx.deleteFrom("service_defs").where("id", "=", def.id).execute();
  await recordAudit(tx, ctx, {
    action: "service_def.deleted",
    targetType: "service_def",
    targetId: String(def.id),
    before: { name },
  });
}

/** What a client may set on a service. */
export interface ServiceInput {
  name?: string;
  type?: string;
  displayName?: string;
  description?: string;
  configs?: Record<string, string>;
  isEnabled?: boolean;
}

/** Creates a service of an existing service-def. */
export async function createService(
  tx: Tx,
  ctx: AuditContext,
  input: Required<Pick<ServiceInput, "name" | "type">> & ServiceInput,
): Promise<Service> {
  if (!(await findServiceDef(tx, input.type))) {
    throw ServiceDefNotFound(`body.type: service-def \`${input.type}\` does not exist`, {
      details: [
        {
          field: "body.type",
          rule: "serviceDefKnown",
          message: `body.type: service-def \`${input.type}\` does not exist`,
        },
      ],
    });
  }
  try {
    const row = await tx
      .insertInto("services")
      .values({
        name: input.name,
        type: input.type,
        display_name: input.displayName ?? "",
        description: input.description ?? "",
        configs: JSON.stringify(input.configs ?? {}),
        is_enabled: input.isEnabled ?? true,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const service = toService(row);
    await recordAudit(tx, ctx, {
      action: "service.created",
      targetType: "service",
      targetId: String(service.id),
      after: service,
    });
    return service;
  } catch (err) {
    if (isUniqueViolation(err)) throw ServiceNameTaken(`service \`${input.name}\` exists`);
    throw err;
  }
}

/** Changes a service's description, display name, configs or enabled state (not its type). */
export async function updateService(tx: Tx, ctx: AuditContext, name: string, input: ServiceInput): Promise<Service> {
  const before = await tx.selectFrom("services").selectAll().where("name", "=", name).forUpdate().executeTakeFirst();
  if (!before) throw ServiceNotFound(`service \`${name}\` not found`);
  const row = await tx
    .updateTable("services")
    .set({
      ...(input.displayName !== undefined ? { display_name: input.displayName } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.configs !== undefined ? { configs: JSON.stringify(input.configs) } : {}),
      ...(input.isEnabled !== undefined ? { is_enabled: input.isEnabled } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", before.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const service = toService(row);
  await recordAudit(tx, ctx, {
    action: "service.updated",
    targetType: "service",
    targetId: String(service.id),
    before: toService(before),
    after: service,
  });
  return service;
}

/** Deletes a service and, by cascade, its policies and deltas (version history is kept). */
export async function deleteService(tx: Tx, ctx: AuditContext, name: string): Promise<void> {
  const row = await tx.deleteFrom("services").where("name", "=", name).returningAll().executeTakeFirst();
  if (!row) throw ServiceNotFound(`service \`${name}\` not found`);
  await recordAudit(tx, ctx, {
    action: "service.deleted",
    targetType: "service",
    targetId: String(row.id),
    before: toService(row),
  });
}
