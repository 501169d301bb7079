import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import type { RangerPolicyResources, RangerTag, RangerTagDef, RangerValiditySchedule } from "../engine/index.ts";
import {
  type ErrorDetail,
  TagDefInUse,
  TagDefNameTaken,
  TagDefNotFound,
  TaggedResourceNotFound,
  TagNotFound,
  TagsInvalid,
} from "../errors.ts";
import { normalizeResources } from "../policies/policy-model.ts";
import { TAG_SERVICE_DEF } from "../service-defs/builtin.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { presentTagDef } from "./service-tags.ts";
import { commitTagChanges, DEFAULT_TAG_LOG, TagChanges, type TagLogOptions } from "./tag-changes.ts";
import {
  deleteOrphanTags,
  findResource,
  findResourceBySignature,
  findTagTypes,
  lockServices,
  presentResources,
  type ResourceRow,
  serviceResourceSignature,
  type TaggedResourceView,
  type TagTarget,
  tagsOfResources,
} from "./tags.store.ts";
import { attributeIssues, resourceElementIssues, validityPeriodIssues } from "./validate-tags.ts";

/** A tag as clients send it. */
export interface TagInput {
  type: string;
  attributes?: Record<string, string>;
  validityPeriods?: RangerValiditySchedule[];
}

/** A tag type as clients send it. */
export interface TagDefInput {
  name: string;
  attributeDefs?: { name: string; type?: string }[];
}

/** A tag type as answered, with Ranger's epoch-millisecond times. */
export type TagDefView = Required<Pick<RangerTagDef, "id" | "guid" | "name" | "attributeDefs">> & {
  createTime: number;
  updateTime: number;
};

/** Throws TAGS_INVALID with every detail when there are any; the message is the first one. */
export function failIfAny(details: ErrorDetail[]): void {
  if (details.length === 0) return;
  const more = details.length > 1 ? ` (and ${details.length - 1} more in details)` : "";
  throw TagsInvalid(`${details[0]?.message}${more}`, { details });
}

/** Tags attach to resources of data services; a tag service has none (its policies name tags). */
export function refuseTagService(target: TagTarget, field: string): void {
  if (target.type !== TAG_SERVICE_DEF) return;
  const message = `${field}: service \`${target.name}\` is a tag service; tag the resources of the services linked to it`;
  failIfAny([{ field, rule: "notTagService", message }]);
}

/** JSON with sorted keys, so values from jsonb (which reorders keys) compare equal to input. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function presentDef(row: {
  id: number;
  guid: string;
  name: string;
  attribute_defs: { name: string; type?: string }[];
  created_at: Date;
  updated_at: Date;
}): TagDefView {
  return {
    ...(presentTagDef(row) as TagDefView),
    createTime: row.created_at.getTime(),
    updateTime: row.updated_at.getTime(),
  };
}

/** Checks a tag type's attribute definitions: names unique. */
export function attributeDefIssues(defs: { name: string }[], field: string): ErrorDetail[] {
  const seen = new Set<string>();
  const out: ErrorDetail[] = [];
  defs.forEach((d, i) => {
    if (seen.has(d.name)) {
      const message = `${field}[${i}].name: \`${d.name}\` is defined twice`;
      out.push({ field: `${field}[${i}].name`, rule: "uniqueItems", message });
    }
    seen.add(d.name);
  });
  return out;
}

/** Defines a tag type. */
export async function createTagDef(tx: Tx, ctx: AuditContext, input: TagDefInput): Promise<TagDefView> {
  const attributeDefs = input.attributeDefs ?? [];
  failIfAny(attributeDefIssues(attributeDefs, "body.attributeDefs"));
  const row = await tx
    .insertInto("tag_defs")
    .values({ name: input.name, attribute_defs: JSON.stringify(attributeDefs), created_by: ctx.actor.name })
    .onConflict((oc) => oc.column("name").doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw TagDefNameTaken(`tag type \`${input.name}\` exists`);
  const view = presentDef(row);
  await recordAudit(tx, ctx, {
    action: "tag_def.created",
    targetType: "tag_def",
    targetId: String(row.id),
    after: view,
  });
  return view;
}

/** One tag type by name; TAG_DEF_NOT_FOUND when absent. */
export async function getTagDef(db: Queryable, name: string): Promise<TagDefView> {
  const row = await db.selectFrom("tag_defs").selectAll().where("name", "=", name).executeTakeFirst();
  if (!row) throw TagDefNotFound(`tag type \`${name}\` not found`);
  return presentDef(row);
}

/** One page of tag types in id order after `afterId`, and the total. */
export async function listTagDefs(
  db: Queryable,
  afterId: number,
  limit: number,
): Promise<{ rows: TagDefView[]; total: number }> {
  const rows = await db
    .selectFrom("tag_defs")
    .selectAll()
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
  const total = await db
    .selectFrom("tag_defs")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return { rows: rows.map(presentDef), total: Number(total.n) };
}

/** Deletes a tag type no tag uses. */
export async function deleteTagDef(tx: Tx, ctx: AuditContext, name: string): Promise<void> {
  const row = await tx.selectFrom("tag_defs").selectAll().where("name", "=", name).forUpdate().executeTakeFirst();
  if (!row) throw TagDefNotFound(`tag type \`${name}\` not found`);
  const used = await tx
    .selectFrom("tags")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("type", "=", name)
    .executeTakeFirstOrThrow();
  if (Number(used.n) > 0) {
    throw TagDefInUse(`tag type \`${name}\` is used by ${used.n} tag(s); untag those resources first`, {
      meta: { tags: Number(used.n) },
    });
  }
  await tx.deleteFrom("tag_defs").where("id", "=", row.id).execute();
  await recordAudit(tx, ctx, {
    action: "tag_def.deleted",
    targetType: "tag_def",
    targetId: String(row.id),
    before: presentDef(row),
  });
}

/** Checks tags against their types: defined types, defined attributes, valid periods, one per type. */
export async function tagIssues(
  db: Queryable,
  target: TagTarget,
  tags: TagInput[],
  field: string,
): Promise<ErrorDetail[]> {
  const types = await findTagTypes(
    db,
    tags.map((t) => t.type),
  );
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  tags.forEach((t, i) => {
    const at = `${field}[${i}]`;
    const type = types.get(t.type);
    if (!type) {
      const message = `${at}.type: tag type \`${t.type}\` is not defined; define it with POST /v1/tag-defs`;
      out.push({ field: `${at}.type`, rule: "tagTypeKnown", message });
    } else out.push(...attributeIssues(t.attributes ?? {}, type, `${at}.attributes`));
    if (seen.has(t.type)) {
      const message = `${at}.type: \`${t.type}\` is given twice; a resource carries one tag of each type`;
      out.push({ field: `${at}.type`, rule: "uniqueType", message });
    }
    seen.add(t.type);
    out.push(...validityPeriodIssues(t.validityPeriods ?? [], target.def, `${at}.validityPeriods`));
  });
  return out;
}

/** What tagging changed. */
export interface TagResult {
  resource: TaggedResourceView;
  /** The resource was new to the service. */
  created: boolean;
  /** Anything changed (an identical request changes nothing and bumps no version). */
  changed: boolean;
}

async function requireResource(tx: Queryable, target: TagTarget, id: number): Promise<ResourceRow> {
  const row = await findResource(tx, target.id, id);
  if (!row) throw TaggedResourceNotFound(`tagged resource \`${id}\` not found in service \`${target.name}\``);
  return row;
}

function auditState(row: ResourceRow, tags: RangerTag[]) {
  return { resourceElements: row.resource_elements, ownerUser: row.owner_user, tags };
}

/**
 * Tags a resource of a service: the resource (found by its signature, or added) carries each
 * given tag afterwards, one tag per type: a tag of the same type is replaced (updated in place
 * when only this resource carries it). Validated first (elements against the service-def, tag
 * types and attributes against their definitions); then one transaction with the audit event
 * and the service's tag version bump with its change-log entries, which other processes and
 * plugins catch up from.
 */
export async function tagResource(
  tx: Tx,
  ctx: AuditContext,
  target: TagTarget,
  input: { resourceElements: RangerPolicyResources; ownerUser?: string; tags: TagInput[] },
  log: TagLogOptions = DEFAULT_TAG_LOG,
): Promise<TagResult> {
  refuseTagService(target, "params.service");
  failIfAny([
    ...resourceElementIssues(input.resourceElements, target.def, "body.resourceElements"),
    ...(await tagIssues(tx, target, input.tags, "body.tags")),
  ]);
  await lockServices(tx, [target.id]);
  const elements = normalizeResources(input.resourceElements);
  const signature = serviceResourceSignature(elements);
  let row = await findResourceBySignature(tx, target.id, signature);
  const created = !row;
  let changed = created;
  const changes = new TagChanges();
  if (!row) {
    row = (await tx
      .insertInto("service_resources")
      .values({
        service_id: target.id,
        resource_elements: JSON.stringify(elements),
        resource_signature: signature,
        owner_user: input.ownerUser ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()) as ResourceRow;
  } else if (input.ownerUser !== undefined && input.ownerUser !== row.owner_user) {
    await tx.updateTable("service_resources").set({ owner_user: input.ownerUser }).where("id", "=", row.id).execute();
    changed = true;
  }
  const before = (await tagsOfResources(tx, [row.id])).get(row.id) ?? [];
  for (const t of input.tags) {
    const attributes = t.attributes ?? {};
    const periods = t.validityPeriods ?? [];
    const same = before.find((b) => b.type === t.type);
    if (
      same &&
      canonicalJson(same.attributes ?? {}) === canonicalJson(attributes) &&
      canonicalJson(same.validityPeriods ?? []) === canonicalJson(periods)
    ) {
      continue;
    }
    changed = true;
    if (same) {
      const shared = await tx
        .selectFrom("resource_tags")
        .select("resource_id")
        .where("tag_id", "=", same.id as number)
        .where("resource_id", "!=", row.id)
        .executeTakeFirst();
      if (!shared) {
        await tx
          .updateTable("tags")
          .set({
            attributes: JSON.stringify(attributes),
            validity_periods: JSON.stringify(periods),
            updated_at: new Date(),
          })
          .where("id", "=", same.id as number)
          .execute();
        changes.tag(target.id, same.id as number, "updated");
        continue;
      }
      // Another resource (of an import) shares the tag: this one gets its own.
      await tx
        .deleteFrom("resource_tags")
        .where("resource_id", "=", row.id)
        .where("tag_id", "=", same.id as number)
        .execute();
      changes.tag(target.id, same.id as number, "deleted");
    }
    const tag = await tx
      .insertInto("tags")
      .values({ type: t.type, attributes: JSON.stringify(attributes), validity_periods: JSON.stringify(periods) })
      .returning("id")
      .executeTakeFirstOrThrow();
    await tx.insertInto("resource_tags").values({ resource_id: row.id, tag_id: tag.id }).execute();
    changes.tag(target.id, tag.id, "added");
  }
  if (changed) {
    row = (await tx
      .updateTable("service_resources")
      .set({ updated_at: new Date() })
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow()) as ResourceRow;
  }
  const [view] = await presentResources(tx, target.name, [row]);
  if (changed) {
    await commitTagChanges(tx, changes.resource(target.id, row.id, created ? "added" : "updated"), log);
    await recordAudit(tx, ctx, {
      action: "resource.tagged",
      targetType: "service_resource",
      targetId: String(row.id),
      before: created ? null : auditState(row, before),
      after: auditState(row, view?.tags ?? []),
    });
  }
  return { resource: view as TaggedResourceView, created, changed };
}

/** One tagged resource of a service with its tags. */
export async function getTaggedResource(db: Queryable, target: TagTarget, id: number): Promise<TaggedResourceView> {
  const row = await requireResource(db, target, id);
  const [view] = await presentResources(db, target.name, [row]);
  return view as TaggedResourceView;
}

/**
 * Removes the tag of `type` from a resource; a resource left without tags is removed too (it is
 * no longer a tagged resource), and so is a tag no other resource carries.
 */
export async function untagResource(
  tx: Tx,
  ctx: AuditContext,
  target: TagTarget,
  id: number,
  type: string,
  log: TagLogOptions = DEFAULT_TAG_LOG,
): Promise<void> {
  await lockServices(tx, [target.id]);
  const row = await requireResource(tx, target, id);
  const tags = (await tagsOfResources(tx, [row.id])).get(row.id) ?? [];
  const gone = tags.filter((t) => t.type === type);
  if (gone.length === 0) {
    throw TagNotFound(`tagged resource \`${id}\` carries no tag of type \`${type}\``, {
      meta: { types: tags.map((t) => t.type) },
    });
  }
  const goneIds = gone.map((t) => t.id as number);
  await tx.deleteFrom("resource_tags").where("resource_id", "=", row.id).where("tag_id", "in", goneIds).execute();
  const left = tags.filter((t) => t.type !== type);
  if (left.length === 0) await tx.deleteFrom("service_resources").where("id", "=", row.id).execute();
  await deleteOrphanTags(tx, goneIds);
  const changes = new TagChanges().resource(target.id, row.id, left.length === 0 ? "deleted" : "updated");
  for (const tagId of goneIds) changes.tag(target.id, tagId, "deleted");
  await commitTagChanges(tx, changes, log);
  await recordAudit(tx, ctx, {
    action: "resource.untagged",
    targetType: "service_resource",
    targetId: String(row.id),
    before: auditState(row, tags),
    after: left.length === 0 ? null : auditState(row, left),
  });
}

/** Deletes a tagged resource with its tag mappings (and the tags no other resource carries). */
export async function deleteTaggedResource(
  tx: Tx,
  ctx: AuditContext,
  target: TagTarget,
  id: number,
  log: TagLogOptions = DEFAULT_TAG_LOG,
): Promise<void> {
  await lockServices(tx, [target.id]);
  const row = await requireResource(tx, target, id);
  const tags = (await tagsOfResources(tx, [row.id])).get(row.id) ?? [];
  await tx.deleteFrom("service_resources").where("id", "=", row.id).execute();
  await deleteOrphanTags(
    tx,
    tags.map((t) => t.id as number),
  );
  const changes = new TagChanges().resource(target.id, row.id, "deleted");
  for (const t of tags) changes.tag(target.id, t.id as number, "deleted");
  await commitTagChanges(tx, changes, log);
  await recordAudit(tx, ctx, {
    action: "service_resource.deleted",
    targetType: "service_resource",
    targetId: String(row.id),
    before: auditState(row, tags),
  });
}
