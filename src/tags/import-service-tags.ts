import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import type { RangerPolicyResources, RangerValiditySchedule } from "../engine/index.ts";
import { type ErrorDetail, ServiceNotFound, TagDefInUse } from "../errors.ts";
import { normalizeResources } from "../policies/policy-model.ts";
import type { Tx } from "../storage/db.ts";
import { commitTagChanges, DEFAULT_TAG_LOG, TagChanges, type TagLogOptions } from "./tag-changes.ts";
import { attributeDefIssues, canonicalJson, failIfAny, refuseTagService } from "./tags.service.ts";
import {
  deleteOrphanTags,
  findResourceBySignature,
  findTagTarget,
  findTagTypes,
  lockServices,
  type ResourceRow,
  serviceResourceSignature,
  type TagTarget,
} from "./tags.store.ts";
import { attributeIssues, resourceElementIssues, type TagTypeInfo, validityPeriodIssues } from "./validate-tags.ts";

/** Ranger's `ServiceTags` as a tag source (Atlas tag sync, scripts) sends it. */
export interface ServiceTagsImport {
  op?: "add_or_update" | "replace" | "delete";
  serviceName: string;
  tagDefinitions?: Record<string, { name: string; attributeDefs?: { name: string; type?: string }[] }>;
  tags?: Record<
    string,
    { guid?: string; type: string; attributes?: Record<string, string>; validityPeriods?: RangerValiditySchedule[] }
  >;
  serviceResources?: {
    id?: number;
    guid?: string;
    serviceName?: string;
    resourceElements: RangerPolicyResources;
    ownerUser?: string;
  }[];
  resourceToTagIds?: Record<string, number[]>;
}

/** What an import did, recorded in its audit event. */
export interface ImportSummary {
  op: string;
  resourcesCreated: number;
  resourcesUpdated: number;
  resourcesDeleted: number;
  tagsCreated: number;
  tagsUpdated: number;
  tagsDeleted: number;
  tagDefsWritten: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function detail(field: string, rule: string, text: string): ErrorDetail {
  return { field, rule, message: `${field}: ${text}` };
}

/** A doc resource as the import works with it. */
interface DocResource {
  index: number;
  docId: string | null;
  guid: string | null;
  elements: RangerPolicyResources;
  signature: string;
  ownerUser: string | null;
}

/** Validates the document; every problem names its field (`body.tags.7.type`, ...). */
async function validate(tx: Tx, target: TagTarget, doc: ServiceTagsImport): Promise<DocResource[]> {
  const details: ErrorDetail[] = [];
  const op = doc.op ?? "add_or_update";
  const docDefs = new Map<string, TagTypeInfo>();
  for (const [key, d] of Object.entries(doc.tagDefinitions ?? {})) {
    details.push(...attributeDefIssues(d.attributeDefs ?? [], `body.tagDefinitions.${key}.attributeDefs`));
    docDefs.set(d.name, { name: d.name, attributeDefs: d.attributeDefs ?? [] });
  }
  const tags = Object.entries(doc.tags ?? {});
  const stored = await findTagTypes(
    tx,
    tags.map(([, t]) => t.type),
  );
  for (const [key, t] of tags) {
    const at = `body.tags.${key}`;
    if (t.guid !== undefined && !UUID.test(t.guid)) details.push(detail(`${at}.guid`, "format", "must be a UUID"));
    if (op === "delete") continue;
    const type = docDefs.get(t.type) ?? stored.get(t.type);
    if (!type) {
      details.push(
        detail(`${at}.type`, "tagTypeKnown", `tag type \`${t.type}\` is neither in \`tagDefinitions\` nor defined`),
      );
    } else details.push(...attributeIssues(t.attributes ?? {}, type, `${at}.attributes`));
    details.push(...validityPeriodIssues(t.validityPeriods ?? [], target.def, `${at}.validityPeriods`));
  }
  const resources: DocResource[] = [];
  const docIds = new Set<string>();
  const signatures = new Map<string, number>();
  (doc.serviceResources ?? []).forEach((r, index) => {
    const at = `body.serviceResources[${index}]`;
    if (r.serviceName !== undefined && r.serviceName !== doc.serviceName) {
      details.push(
        detail(
          `${at}.serviceName`,
          "sameService",
          `\`${r.serviceName}\` differs from body.serviceName \`${doc.serviceName}\``,
        ),
      );
    }
    if (r.guid !== undefined && !UUID.test(r.guid)) details.push(detail(`${at}.guid`, "format", "must be a UUID"));
    const docId = r.id === undefined ? null : String(r.id);
    if (docId !== null) {
      if (docIds.has(docId)) details.push(detail(`${at}.id`, "uniqueItems", `id \`${docId}\` is used twice`));
      docIds.add(docId);
    }
    const issues = resourceElementIssues(r.resourceElements, target.def, `${at}.resourceElements`);
    details.push(...issues);
    const elements = normalizeResources(r.resourceElements);
    const signature = serviceResourceSignature(elements);
    const twin = signatures.get(signature);
    if (issues.length === 0 && twin !== undefined) {
      details.push(
        detail(`${at}.resourceElements`, "uniqueResource", `the same resource as body.serviceResources[${twin}]`),
      );
    }
    signatures.set(signature, index);
    resources.push({ index, docId, guid: r.guid ?? null, elements, signature, ownerUser: r.ownerUser ?? null });
  });
  for (const [key, ids] of Object.entries(doc.resourceToTagIds ?? {})) {
    const at = `body.resourceToTagIds.${key}`;
    if (!docIds.has(key)) {
      details.push(detail(at, "resourceKnown", `\`${key}\` is not the id of an entry of body.serviceResources`));
    }
    for (const id of ids) {
      if (!doc.tags?.[String(id)]) {
        details.push(detail(at, "tagKnown", `tag id \`${id}\` is not a key of body.tags`));
      }
    }
  }
  failIfAny(details);
  return resources;
}

/** Rows per statement: well under PostgreSQL's 65,535 parameters for every statement here. */
const CHUNK = 1000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * The stored resources the doc resources name, by doc index: by guid within the service, else
 * by signature. A few queries for the whole document, not one per resource.
 */
async function storedResources(tx: Tx, target: TagTarget, resources: DocResource[]): Promise<Map<number, ResourceRow>> {
  const guids = resources.flatMap((r) => (r.guid ? [r.guid] : []));
  const signatures = resources.map((r) => r.signature);
  const rowsWhere = async (column: "guid" | "resource_signature", values: string[]) => {
    const found = new Map<string, ResourceRow>();
    for (const part of chunks(values)) {
      const rows = (await tx
        .selectFrom("service_resources")
        .selectAll()
        .where("service_id", "=", target.id)
        .where(column, "in", part)
        .execute()) as ResourceRow[];
      for (const row of rows) found.set(row[column], row);
    }
    return found;
  };
  const byGuid = await rowsWhere("guid", guids);
  const bySignature = await rowsWhere("resource_signature", signatures);
  const out = new Map<number, ResourceRow>();
  for (const r of resources) {
    const found = (r.guid ? byGuid.get(r.guid) : undefined) ?? bySignature.get(r.signature);
    if (found) out.set(r.index, found);
  }
  return out;
}

/**
 * Ranger's `PUT /service/tags/importservicetags` (`ServiceTagsProcessor`), in one transaction:
 *
 * - `add_or_update` (default): tag definitions are created or their attribute definitions
 *   replaced; tags with a known `guid` are updated, others created; service resources are found
 *   by `guid` (within the service) or by resource signature and updated, or created; for each
 *   entry of `resourceToTagIds` the resource then carries exactly those tags (resources absent
 *   from it keep theirs). Tags no resource carries are not kept.
 * - `replace`: every resource of the service is removed first, then as `add_or_update`.
 * - `delete`: the listed resources (by guid or signature) and the tags with the listed guids are
 *   removed, and the listed tag definitions when no tag uses them.
 *
 * The whole document is validated before anything is written. Every service whose `ServiceTags`
 * changed gets its tag version bumped (the imported one, and others sharing an updated tag or
 * tag type) with its change-log entries, one audit event records the summary.
 */
export async function importServiceTags(
  tx: Tx,
  ctx: AuditContext,
  doc: ServiceTagsImport,
  log: TagLogOptions = DEFAULT_TAG_LOG,
): Promise<ImportSummary> {
  const target = await findTagTarget(tx, doc.serviceName);
  if (!target) throw ServiceNotFound(`body.serviceName: service \`${doc.serviceName}\` not found`);
  refuseTagService(target, "body.serviceName");
  const resources = await validate(tx, target, doc);
  const op = doc.op ?? "add_or_update";
  const summary: ImportSummary = {
    op,
    resourcesCreated: 0,
    resourcesUpdated: 0,
    resourcesDeleted: 0,
    tagsCreated: 0,
    tagsUpdated: 0,
    tagsDeleted: 0,
    tagDefsWritten: 0,
  };

  // Every service whose document changes, locked in id order before any write: this one, those
  // carrying a tag this import changes or deletes, those carrying tags of a changed tag type.
  const guids = Object.values(doc.tags ?? {}).flatMap((t) => (t.guid ? [t.guid] : []));
  const existingTags: StoredTag[] = [];
  for (const part of chunks(guids)) {
    existingTags.push(
      ...(await tx
        .selectFrom("tags")
        .select(["id", "guid", "type", "attributes", "validity_periods"])
        .where("guid", "in", part)
        .execute()),
    );
  }
  const incoming = new Map(Object.values(doc.tags ?? {}).flatMap((t) => (t.guid ? [[t.guid, t] as const] : [])));
  const touched = existingTags.filter((known) => {
    if (op === "delete") return true;
    const t = incoming.get(known.guid);
    return !t || !sameTag(known, t);
  });
  const changedTypes = await changedTagTypes(tx, doc);
  const affected = new Set([target.id]);
  // Who carries the tags this import changes or deletes: their services' documents change too.
  const carriers: { service_id: number; resource_id: number; tag_id: number }[] = [];
  for (const part of chunks(touched.map((t) => t.id))) {
    carriers.push(
      ...(await tx
        .selectFrom("resource_tags as rt")
        .innerJoin("service_resources as r", "r.id", "rt.resource_id")
        .select(["r.service_id", "rt.resource_id", "rt.tag_id"])
        .where("rt.tag_id", "in", part)
        .execute()),
    );
  }
  for (const c of carriers) affected.add(c.service_id);
  const typeCarriers = new Set([target.id]);
  if (changedTypes.length > 0) {
    const rows = await tx
      .selectFrom("resource_tags as rt")
      .innerJoin("tags as t", "t.id", "rt.tag_id")
      .innerJoin("service_resources as r", "r.id", "rt.resource_id")
      .select("r.service_id")
      .distinct()
      .where("t.type", "in", changedTypes)
      .execute();
    for (const r of rows) {
      affected.add(r.service_id);
      typeCarriers.add(r.service_id);
    }
  }
  await lockServices(tx, affected);
  const changes = new TagChanges();
  for (const id of affected) changes.touch(id);
  for (const c of carriers) {
    // A deleted tag leaves the resources that carried it; an updated one changes in place.
    changes.tag(c.service_id, c.tag_id, op === "delete" ? "deleted" : "updated");
    if (op === "delete") changes.resource(c.service_id, c.resource_id, "updated");
  }

  if (op === "delete") {
    await deleteListed(tx, target, doc, resources, existingTags, summary, changes);
  } else {
    if (op === "replace") {
      const mapped = await tx
        .selectFrom("resource_tags as rt")
        .innerJoin("service_resources as r", "r.id", "rt.resource_id")
        .select("rt.tag_id")
        .where("r.service_id", "=", target.id)
        .execute();
      const removed = await tx
        .deleteFrom("service_resources")
        .where("service_id", "=", target.id)
        .returning("id")
        .execute();
      summary.resourcesDeleted += removed.length;
      for (const r of removed) changes.resource(target.id, r.id, "deleted");
      for (const m of mapped) changes.tag(target.id, m.tag_id, "deleted");
      await deleteOrphanTags(
        tx,
        mapped.map((m) => m.tag_id),
      );
    }
    await addOrUpdate(tx, target, doc, resources, existingTags, summary, changes);
    if (changedTypes.length > 0) {
      const defs = await tx.selectFrom("tag_defs").select("id").where("name", "in", changedTypes).execute();
      for (const serviceId of typeCarriers) for (const d of defs) changes.tagDef(serviceId, d.id, "updated");
    }
  }
  await commitTagChanges(tx, changes, log);
  await recordAudit(tx, ctx, {
    action: "service_tags.imported",
    targetType: "service",
    targetId: String(target.id),
    after: { serviceName: target.name, ...summary },
  });
  return summary;
}

/** Whether a stored tag already holds what the document says. */
function sameTag(
  known: StoredTag,
  t: { type: string; attributes?: Record<string, string>; validityPeriods?: RangerValiditySchedule[] },
): boolean {
  return (
    known.type === t.type &&
    canonicalJson(known.attributes) === canonicalJson(t.attributes ?? {}) &&
    canonicalJson(known.validity_periods ?? []) === canonicalJson(t.validityPeriods ?? [])
  );
}

/** Names of the document's tag types that are new or whose attribute definitions change. */
async function changedTagTypes(tx: Tx, doc: ServiceTagsImport): Promise<string[]> {
  const defs = Object.values(doc.tagDefinitions ?? {});
  if (defs.length === 0) return [];
  const stored = await tx
    .selectFrom("tag_defs")
    .select(["name", "attribute_defs"])
    .where(
      "name",
      "in",
      defs.map((d) => d.name),
    )
    .execute();
  const current = new Map(stored.map((d) => [d.name, canonicalJson(d.attribute_defs)]));
  return defs.filter((d) => current.get(d.name) !== canonicalJson(d.attributeDefs ?? [])).map((d) => d.name);
}

type StoredTag = {
  id: number;
  guid: string;
  type: string;
  attributes: Record<string, string>;
  validity_periods: unknown[];
};

async function addOrUpdate(
  tx: Tx,
  target: TagTarget,
  doc: ServiceTagsImport,
  resources: DocResource[],
  existingTags: StoredTag[],
  summary: ImportSummary,
  changes: TagChanges,
): Promise<void> {
  for (const d of Object.values(doc.tagDefinitions ?? {})) {
    const attributeDefs = JSON.stringify(d.attributeDefs ?? []);
    const current = await tx
      .selectFrom("tag_defs")
      .select(["id", "attribute_defs"])
      .where("name", "=", d.name)
      .executeTakeFirst();
    if (!current) {
      await tx.insertInto("tag_defs").values({ name: d.name, attribute_defs: attributeDefs }).execute();
      summary.tagDefsWritten++;
    } else if (canonicalJson(current.attribute_defs) !== canonicalJson(d.attributeDefs ?? [])) {
      await tx
        .updateTable("tag_defs")
        .set({ attribute_defs: attributeDefs, updated_at: new Date() })
        .where("id", "=", current.id)
        .execute();
      summary.tagDefsWritten++;
    }
  }

  // Tags: update those known by guid; create the others that some resource will carry.
  const carried = new Set(Object.values(doc.resourceToTagIds ?? {}).flatMap((ids) => ids.map(String)));
  const byGuid = new Map(existingTags.map((t) => [t.guid, t]));
  const tagIds = new Map<string, number>();
  const newTags: { key: string; row: { guid: string; type: string; attributes: string; validity_periods: string } }[] =
    [];
  for (const [key, t] of Object.entries(doc.tags ?? {})) {
    const attributes = t.attributes ?? {};
    const periods = t.validityPeriods ?? [];
    const known = t.guid ? byGuid.get(t.guid) : undefined;
    if (known) {
      tagIds.set(key, known.id);
      if (!sameTag(known, t)) {
        await tx
          .updateTable("tags")
          .set({
            type: t.type,
            attributes: JSON.stringify(attributes),
            validity_periods: JSON.stringify(periods),
            updated_at: new Date(),
          })
          .where("id", "=", known.id)
          .execute();
        summary.tagsUpdated++;
      }
      continue;
    }
    if (!carried.has(key)) continue;
    newTags.push({
      key,
      row: {
        guid: t.guid ?? randomUUID(),
        type: t.type,
        attributes: JSON.stringify(attributes),
        validity_periods: JSON.stringify(periods),
      },
    });
  }
  for (const part of chunks(newTags)) {
    const rows = await tx
      .insertInto("tags")
      .values(part.map((p) => p.row))
      .returning(["id", "guid"])
      .execute();
    const ids = new Map(rows.map((r) => [r.guid, r.id]));
    for (const p of part) tagIds.set(p.key, ids.get(p.row.guid) as number);
    summary.tagsCreated += rows.length;
  }

  // Resources: update by guid or signature, or create.
  const stored = await storedResources(tx, target, resources);
  const resourceIds = new Map<string, number>();
  const created: { r: DocResource; guid: string }[] = [];
  for (const r of resources) {
    const found = stored.get(r.index);
    if (!found) {
      created.push({ r, guid: r.guid ?? randomUUID() });
      continue;
    }
    if (r.docId !== null) resourceIds.set(r.docId, found.id);
    if (found.resource_signature === r.signature && (r.ownerUser ?? null) === found.owner_user) continue;
    // New elements under the same id: a delta would move the resource to the end of the list.
    if (found.resource_signature !== r.signature) changes.all(target.id);
    else changes.resource(target.id, found.id, "updated");
    const clash = await findResourceBySignature(tx, target.id, r.signature);
    if (clash && clash.id !== found.id) {
      failIfAny([
        detail(
          `body.serviceResources[${r.index}].resourceElements`,
          "uniqueResource",
          `another resource of the service (id ${clash.id}) already has these elements`,
        ),
      ]);
    }
    await tx
      .updateTable("service_resources")
      .set({
        resource_elements: JSON.stringify(r.elements),
        resource_signature: r.signature,
        owner_user: r.ownerUser,
        updated_at: new Date(),
      })
      .where("id", "=", found.id)
      .execute();
    summary.resourcesUpdated++;
  }
  for (const part of chunks(created)) {
    const rows = await tx
      .insertInto("service_resources")
      .values(
        part.map(({ r, guid }) => ({
          guid,
          service_id: target.id,
          resource_elements: JSON.stringify(r.elements),
          resource_signature: r.signature,
          owner_user: r.ownerUser,
        })),
      )
      .returning(["id", "guid"])
      .execute();
    const ids = new Map(rows.map((row) => [row.guid, row.id]));
    for (const { r, guid } of part) if (r.docId !== null) resourceIds.set(r.docId, ids.get(guid) as number);
    for (const row of rows) changes.resource(target.id, row.id, "added");
    summary.resourcesCreated += rows.length;
  }

  // Mappings: each listed resource carries exactly its listed tags.
  const want = new Map<number, Set<number>>();
  for (const [key, ids] of Object.entries(doc.resourceToTagIds ?? {})) {
    want.set(resourceIds.get(key) as number, new Set(ids.map((i) => tagIds.get(String(i)) as number)));
  }
  const have = new Map<number, Set<number>>();
  for (const part of chunks([...want.keys()])) {
    const rows = await tx
      .selectFrom("resource_tags")
      .select(["resource_id", "tag_id"])
      .where("resource_id", "in", part)
      .execute();
    for (const row of rows) {
      const set = have.get(row.resource_id) ?? new Set<number>();
      have.set(row.resource_id, set);
      set.add(row.tag_id);
    }
  }
  const drop: [number, number][] = [];
  const add: { resource_id: number; tag_id: number }[] = [];
  for (const [resourceId, tags] of want) {
    const current = have.get(resourceId) ?? new Set<number>();
    for (const tagId of current) if (!tags.has(tagId)) drop.push([resourceId, tagId]);
    for (const tagId of tags) if (!current.has(tagId)) add.push({ resource_id: resourceId, tag_id: tagId });
  }
  for (const [resourceId, tagId] of drop) {
    changes.resource(target.id, resourceId, "updated");
    changes.tag(target.id, tagId, "deleted");
  }
  for (const a of add) {
    changes.resource(target.id, a.resource_id, "updated");
    changes.tag(target.id, a.tag_id, "added");
  }
  for (const part of chunks(drop)) {
    // Pairs as two arrays joined by position: one index probe per pair, two parameters per chunk.
    const resourceIds = part.map(([r]) => r);
    const tagIdList = part.map(([, t]) => t);
    await sql`delete from resource_tags rt
      using unnest(${resourceIds}::integer[], ${tagIdList}::integer[]) as d(resource_id, tag_id)
      where rt.resource_id = d.resource_id and rt.tag_id = d.tag_id`.execute(tx);
  }
  for (const part of chunks(add)) await tx.insertInto("resource_tags").values(part).execute();
  await deleteOrphanTags(
    tx,
    drop.map(([, t]) => t),
  );
}

async function deleteListed(
  tx: Tx,
  target: TagTarget,
  doc: ServiceTagsImport,
  resources: DocResource[],
  existingTags: StoredTag[],
  summary: ImportSummary,
  changes: TagChanges,
): Promise<void> {
  const orphans: number[] = [];
  const found = [...new Set([...(await storedResources(tx, target, resources)).values()].map((r) => r.id))];
  for (const id of found) changes.resource(target.id, id, "deleted");
  for (const part of chunks(found)) {
    const mapped = await tx.selectFrom("resource_tags").select("tag_id").where("resource_id", "in", part).execute();
    orphans.push(...mapped.map((m) => m.tag_id));
    for (const m of mapped) changes.tag(target.id, m.tag_id, "deleted");
    const removed = await tx.deleteFrom("service_resources").where("id", "in", part).executeTakeFirst();
    summary.resourcesDeleted += Number(removed.numDeletedRows);
  }
  for (const part of chunks(existingTags.map((t) => t.id))) {
    await tx.deleteFrom("tags").where("id", "in", part).execute();
    summary.tagsDeleted += part.length;
  }
  await deleteOrphanTags(tx, orphans);
  for (const d of Object.values(doc.tagDefinitions ?? {})) {
    const used = await tx.selectFrom("tags").select("id").where("type", "=", d.name).executeTakeFirst();
    if (used) throw TagDefInUse(`body.tagDefinitions: tag type \`${d.name}\` is still used by tags`);
    const removed = await tx.deleteFrom("tag_defs").where("name", "=", d.name).executeTakeFirst();
    summary.tagDefsWritten += Number(removed.numDeletedRows);
  }
}
