import { sql } from "kysely";
import { type AuditContext, recordAudit, SYSTEM_CONTEXT } from "../audit/audit.service.ts";
import type { RangerServiceDef } from "../engine/types.ts";
import {
  fieldError,
  ServiceDefInUse,
  ServiceDefInvalid,
  ServiceDefNameTaken,
  ServiceDefNotFound,
  ServiceNameTaken,
  ServiceNotFound,
  TagServiceInUse,
  TagServiceInvalid,
} from "../errors.ts";
import { normaliseName, visibleName } from "../http/names.ts";
import type { Db, Tx } from "../storage/db.ts";
import { deleteOrphanTags } from "../tags/tags.store.ts";
import { BUILTIN_SERVICE_DEFS, TAG_SERVICE, TAG_SERVICE_DEF } from "./builtin.ts";
import { validateServiceDef } from "./service-def-validate.ts";
import {
  bumpPolicyVersion,
  findServiceDef,
  type Service,
  type StoredServiceDef,
  toService,
} from "./service-defs.store.ts";

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === "23505";
}

/**
 * Upserts the built-in service-defs and creates the `tags` tag service, the `trino` service and the
 * Nx1 service when absent. Runs at every start (idempotent, safe with several servers starting
 * together). The `trino` and Nx1 services are linked to `tags` when they are created, because the
 * Nx1 tag-role associations are tag policies of `tags` meant for them; an existing link (or its
 * removal by an administrator) is never changed.
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
            .where("service_defs.builtin", "=", true)
            // an unchanged definition keeps its updated_at: a start must not make every running
            // process rebuild its engines (they rebuild when a def's updated_at moves)
            .where(sql<boolean>`service_defs.def is distinct from excluded.def`),
        )
        .execute();
    }
    const services: [string, string][] = [[TAG_SERVICE, TAG_SERVICE_DEF]];
    for (const name of new Set(["trino", nx1Service])) services.push([name, "trino"]);
    let tagServiceId: number | null = null;
    for (const [name, type] of services) {
      const inserted = await tx
        .insertInto("services")
        .values({
          name,
          type,
          description: "Created at first start",
          configs: "{}",
          tag_service_id: type === TAG_SERVICE_DEF ? null : tagServiceId,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .returningAll()
        .executeTakeFirst();
      if (name === TAG_SERVICE) {
        const tags = await tx.selectFrom("services").select(["id", "type"]).where("name", "=", name).executeTakeFirst();
        tagServiceId = tags?.type === TAG_SERVICE_DEF ? tags.id : null;
      }
      if (inserted) {
        await recordAudit(tx, SYSTEM_CONTEXT, {
          action: "service.created",
          targetType: "service",
          targetId: String(inserted.id),
          after: { name, type, ...(inserted.tag_service_id ? { tagService: TAG_SERVICE } : {}) },
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

/**
 * Replaces a custom service-def with `def` (Ranger's `updateServiceDef`), validated as on create.
 * The name is the def's identity (services name it as their type), so it cannot change; built-in
 * defs are Gatehouse's own and refused. Services of the type get their policy version bumped
 * without a delta, so engines and plugins rebuild with the new def.
 *
 * @throws SERVICE_DEF_NOT_FOUND, SERVICE_DEF_INVALID (also for a rename), SERVICE_DEF_IN_USE for a built-in.
 */
export async function updateServiceDef(
  tx: Tx,
  ctx: AuditContext,
  name: string,
  def: RangerServiceDef,
): Promise<StoredServiceDef> {
  const current = await findServiceDef(tx, name);
  if (!current) throw ServiceDefNotFound(`service-def \`${name}\` not found`);
  if (current.builtin) throw ServiceDefInUse(`service-def \`${name}\` is built in and cannot be changed`);
  if (def.name !== undefined && def.name !== name) {
    throw fieldError(
      ServiceDefInvalid,
      "body.name",
      "immutable",
      `a service-def cannot be renamed (\`${name}\` to \`${def.name}\`)`,
    );
  }
  const next = { ...def, name };
  const details = validateServiceDef(next);
  if (details.length > 0) throw ServiceDefInvalid(details.map((d) => d.message).join("; "), { details });
  const { id: _ignored, ...body } = next;
  await tx
    .updateTable("service_defs")
    .set({ def: JSON.stringify(body), updated_at: sql`now()` })
    .where("id", "=", current.id)
    .execute();
  const users = await tx.selectFrom("services").select("id").where("type", "=", name).execute();
  for (const s of users) await bumpPolicyVersion(tx, s.id, 1);
  await recordAudit(tx, ctx, {
    action: "service_def.updated",
    targetType: "service_def",
    targetId: String(current.id),
    after: { name },
  });
  return (await findServiceDef(tx, name)) as StoredServiceDef;
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
  /** Name of the tag service to link (Ranger `tagService`); null or "" unlinks. */
  tagService?: string | null;
}

function tagServiceInvalid(rule: string, problem: string) {
  return fieldError(TagServiceInvalid, "body.tagService", rule, problem);
}

/**
 * The id of the tag service a service of `type` may link to, or null to unlink: it must exist and
 * be of the `tag` service-def, and a tag service links to none (Ranger's service validator).
 */
async function resolveTagService(tx: Tx, type: string, tagService: string | null): Promise<number | null> {
  if (tagService === null || tagService === "") return null;
  if (type === TAG_SERVICE_DEF) {
    throw tagServiceInvalid("notTagService", "a tag service cannot be linked to a tag service");
  }
  const target = await tx
    .selectFrom("services")
    .select(["id", "type"])
    .where("name", "=", tagService)
    .executeTakeFirst();
  if (!target) {
    throw tagServiceInvalid("tagServiceExists", `service \`${tagService}\` does not exist`);
  }
  if (target.type !== TAG_SERVICE_DEF) {
    throw tagServiceInvalid(
      "tagServiceType",
      `service \`${tagService}\` is of type \`${target.type}\`, not \`${TAG_SERVICE_DEF}\``,
    );
  }
  return target.id;
}

/** Creates a service of an existing service-def. */
export async function createService(
  tx: Tx,
  ctx: AuditContext,
  input: Required<Pick<ServiceInput, "name" | "type">> & ServiceInput,
): Promise<Service> {
  // one spelling per name: NFD and NFC "é" are one service (docs/input-rules.md)
  const name = visibleName(input.name, "body.name");
  if (name !== input.name) return createService(tx, ctx, { ...input, name });
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
  const tagServiceId = await resolveTagService(tx, input.type, input.tagService ?? null);
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
        tag_service_id: tagServiceId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const service = toService({ ...row, tag_service_name: tagServiceId === null ? null : (input.tagService ?? null) });
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

/**
 * Changes a service's description, display name, configs, enabled state or tag service (not its
 * type). Linking, relinking or unlinking a tag service also bumps the policy version without a
 * delta (Ranger's service change): plugins and engines then load the whole policy set, with the
 * new tag policies, instead of waiting for a policy change.
 */
export async function updateService(tx: Tx, ctx: AuditContext, name: string, input: ServiceInput): Promise<Service> {
  const before = await tx
    .selectFrom("services as s")
    .leftJoin("services as t", "t.id", "s.tag_service_id")
    .selectAll("s")
    .select("t.name as tag_service_name")
    .where("s.name", "=", normaliseName(name))
    .forUpdate("s")
    .executeTakeFirst();
  if (!before) throw ServiceNotFound(`service \`${name}\` not found`);
  const tagServiceId =
    input.tagService === undefined ? before.tag_service_id : await resolveTagService(tx, before.type, input.tagService);
  const relinked = tagServiceId !== before.tag_service_id;
  const row = await tx
    .updateTable("services")
    .set({
      ...(input.displayName !== undefined ? { display_name: input.displayName } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.configs !== undefined ? { configs: JSON.stringify(input.configs) } : {}),
      ...(input.isEnabled !== undefined ? { is_enabled: input.isEnabled } : {}),
      ...(relinked
        ? { tag_service_id: tagServiceId, policy_version: sql`policy_version + 1`, policy_update_time: sql`now()` }
        : {}),
      updated_at: new Date(),
    })
    .where("id", "=", before.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (
    row.type === TAG_SERVICE_DEF &&
    (row.is_enabled !== before.is_enabled || JSON.stringify(row.configs) !== JSON.stringify(before.configs))
  ) {
    // The linked services' `tagPolicies` change (dropped when disabled, audit filters in the
    // configs): bump their policy versions without a delta, so plugins load them again. Locked
    // after this tag service, as the tag policy fan-out of migration 0006 does.
    const linked = await tx
      .selectFrom("services")
      .select("id")
      .where("tag_service_id", "=", row.id)
      .orderBy("id")
      .forUpdate()
      .execute();
    if (linked.length > 0) {
      await tx
        .updateTable("services")
        .set({ policy_version: sql`policy_version + 1`, policy_update_time: sql`now()` })
        .where(
          "id",
          "in",
          linked.map((l) => l.id),
        )
        .execute();
    }
  }
  const service = toService({
    ...row,
    tag_service_name: relinked ? (tagServiceId === null ? null : (input.tagService ?? null)) : before.tag_service_name,
  });
  await recordAudit(tx, ctx, {
    action: "service.updated",
    targetType: "service",
    targetId: String(service.id),
    before: toService(before),
    after: service,
  });
  return service;
}

/**
 * Deletes a service and, by cascade, its policies, deltas and tagged resources (version history
 * is kept). A tag service still linked to services is refused: deleting it would silently drop
 * the tag policies (denials included) those services rely on.
 */
export async function deleteService(tx: Tx, ctx: AuditContext, name: string): Promise<void> {
  const linked = await tx
    .selectFrom("services as s")
    .innerJoin("services as t", "t.id", "s.tag_service_id")
    .select("s.name")
    .where("t.name", "=", name)
    .orderBy("s.name")
    .execute();
  if (linked.length > 0) {
    const names = linked.map((l) => l.name);
    throw TagServiceInUse(
      `tag service \`${name}\` is linked to ${names.map((n) => `\`${n}\``).join(", ")}; unlink them first (PATCH with \`tagService: null\`)`,
      { meta: { services: names } },
    );
  }
  const tagIds = await tx
    .selectFrom("resource_tags as rt")
    .innerJoin("service_resources as r", "r.id", "rt.resource_id")
    .innerJoin("services as s", "s.id", "r.service_id")
    .select("rt.tag_id")
    .where("s.name", "=", name)
    .execute();
  const row = await tx.deleteFrom("services").where("name", "=", name).returningAll().executeTakeFirst();
  if (!row) throw ServiceNotFound(`service \`${name}\` not found`);
  // Its tagged resources went by cascade; the tags only they carried go too.
  await deleteOrphanTags(
    tx,
    tagIds.map((t) => t.tag_id),
  );
  await recordAudit(tx, ctx, {
    action: "service.deleted",
    targetType: "service",
    targetId: String(row.id),
    before: toService(row),
  });
}
