import type { RangerServiceResource, RangerTag } from "../engine/index.ts";
import type { Queryable } from "../storage/db.ts";
import {
  presentServiceResource,
  presentTag,
  readTagDefinitions,
  type ServiceTagsDocument,
  type ServiceTagsHeader,
} from "./service-tags.ts";

/**
 * Log entries one delta may gather before the reader gives up and the caller sends the whole
 * document (a plugin very far behind: the delta would be about as large).
 */
export const MAX_DELTA_ENTRIES = 50_000;

/** Ids per `in (...)` list: one parameter each, well under PostgreSQL's 65,535. */
const ID_CHUNK = 5000;

async function inChunks<T>(ids: readonly number[], read: (part: number[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) out.push(...(await read(ids.slice(i, i + ID_CHUNK))));
  return out;
}

const ascending = (a: number, b: number) => a - b;

/**
 * The service's resource-tag changes after `fromVersion` as Ranger's `ServiceTags` delta
 * (`TagDBStore.createServiceTagsDelta`), built from the tag change log (migration 0008), or null
 * when the log cannot bridge `fromVersion` → `service.tagVersion`: a version without entries
 * (pruned, or before the log existed), a version that cannot be a delta (`all`), a `fromVersion`
 * the service never had, or more than `MAX_DELTA_ENTRIES` entries. The caller then sends or reads
 * the whole document. Read it in the same REPEATABLE READ transaction as `service` (its version).
 *
 * What the delta holds, as Ranger's: `isDelta: true`; every changed resource the service still has,
 * whole, with its tag ids in `resourceToTagIds` (an empty list when it carries none, which takes
 * the old ids away) and its tags in `tags`; every changed resource it no longer has as
 * `{id, resourceElements: {}}` (no signature: Ranger's `applyDelta` removes it with its
 * mapping); every changed tag it still carries, whole, and every one it no longer carries as
 * `{id}` (no type: removed); the tag definitions of the tags sent and of changed definitions its
 * tags use. Removed resources come first, then the others in id order: a new resource always has
 * a higher id than those before it, so appending them keeps the id order of a fresh download.
 * `tagsChangeExtent` is `SERVICE_RESOURCE` when resources changed, `TAGS` when only tags did,
 * `NONE` when nothing did. Cost: the changed objects, not the service's tagged resources.
 */
export async function readServiceTagsDelta(
  db: Queryable,
  service: ServiceTagsHeader,
  fromVersion: number,
  maxEntries = MAX_DELTA_ENTRIES,
): Promise<ServiceTagsDocument | null> {
  const to = service.tagVersion;
  if (!Number.isSafeInteger(fromVersion) || fromVersion < 0 || fromVersion >= to) return null;
  const rows = await db
    .selectFrom("tag_changes")
    .select(["tag_version", "object_type", "object_id"])
    .where("service_id", "=", service.id)
    .where("tag_version", ">", fromVersion)
    .where("tag_version", "<=", to)
    .orderBy("tag_version")
    .limit(maxEntries + 1)
    .execute();
  if (rows.length > maxEntries) return null;
  // every version of the range must be there: each bump writes at least one entry
  let versions = 0;
  let last = fromVersion;
  const resourceIds = new Set<number>();
  const tagIds = new Set<number>();
  const tagDefIds = new Set<number>();
  for (const r of rows) {
    if (r.tag_version !== last) {
      if (r.tag_version !== last + 1) return null;
      last = r.tag_version;
      versions++;
    }
    if (r.object_type === "all") return null;
    if (r.object_type === "resource") resourceIds.add(r.object_id);
    else if (r.object_type === "tag") tagIds.add(r.object_id);
    else if (r.object_type === "tag_def") tagDefIds.add(r.object_id);
  }
  if (versions !== to - fromVersion) return null;

  const resources = await inChunks([...resourceIds], (part) =>
    db
      .selectFrom("service_resources")
      .select(["id", "guid", "resource_elements", "resource_signature", "owner_user"])
      .where("service_id", "=", service.id)
      .where("id", "in", part)
      .execute(),
  );
  resources.sort((a, b) => a.id - b.id);
  const present = resources.map((r) => r.id);
  const mappings = await inChunks(present, (part) =>
    db.selectFrom("resource_tags").select(["resource_id", "tag_id"]).where("resource_id", "in", part).execute(),
  );
  const resourceToTagIds: Record<string, number[]> = {};
  for (const id of present) resourceToTagIds[String(id)] = [];
  const sentTagIds = new Set<number>();
  for (const m of mappings) {
    resourceToTagIds[String(m.resource_id)]?.push(m.tag_id);
    sentTagIds.add(m.tag_id);
  }
  for (const ids of Object.values(resourceToTagIds)) ids.sort(ascending);

  // Changed tags the service's resources still carry are sent whole; the others as removals.
  const unresolved = [...tagIds].filter((id) => !sentTagIds.has(id));
  const carried = await inChunks(unresolved, (part) =>
    db
      .selectFrom("resource_tags as rt")
      .innerJoin("service_resources as r", "r.id", "rt.resource_id")
      .select("rt.tag_id")
      .distinct()
      .where("r.service_id", "=", service.id)
      .where("rt.tag_id", "in", part)
      .execute(),
  );
  for (const c of carried) sentTagIds.add(c.tag_id);
  const tagRows = await inChunks([...sentTagIds], (part) =>
    db
      .selectFrom("tags")
      .select(["id", "guid", "type", "attributes", "validity_periods"])
      .where("id", "in", part)
      .execute(),
  );
  tagRows.sort((a, b) => a.id - b.id);
  const tags: Record<string, RangerTag> = {};
  for (const t of tagRows) tags[String(t.id)] = presentTag(t);
  // Ranger's removal: a tag with its id and no type
  for (const id of [...tagIds].sort(ascending)) if (!tags[String(id)]) tags[String(id)] = { id } as RangerTag;

  // Definitions of the tags sent, and changed definitions of types the service's tags still use.
  const types = new Set(tagRows.map((t) => t.type));
  const changedDefs =
    tagDefIds.size === 0
      ? []
      : await inChunks([...tagDefIds], (part) =>
          db.selectFrom("tag_defs").select(["name"]).where("id", "in", part).execute(),
        );
  const otherTypes = changedDefs.map((d) => d.name).filter((name) => !types.has(name));
  if (otherTypes.length > 0) {
    const used = await db
      .selectFrom("tags as t")
      .innerJoin("resource_tags as rt", "rt.tag_id", "t.id")
      .innerJoin("service_resources as r", "r.id", "rt.resource_id")
      .select("t.type")
      .distinct()
      .where("r.service_id", "=", service.id)
      .where("t.type", "in", otherTypes)
      .execute();
    for (const u of used) types.add(u.type);
  }
  const tagDefinitions = await readTagDefinitions(db, [...types]);

  const removed: RangerServiceResource[] = [...resourceIds]
    .filter((id) => !resourceToTagIds[String(id)])
    .sort(ascending)
    .map((id) => ({ id, resourceElements: {} }));
  const serviceResources: RangerServiceResource[] = [
    ...removed,
    ...resources.map((r) => presentServiceResource(r, service.name)),
  ];
  const extent = serviceResources.length > 0 ? "SERVICE_RESOURCE" : Object.keys(tags).length > 0 ? "TAGS" : "NONE";
  return {
    op: "add_or_update",
    tagModel: "shared",
    serviceName: service.name,
    tagVersion: to,
    tagUpdateTime: service.tagUpdateTime?.getTime() ?? null,
    tagDefinitions,
    tags,
    serviceResources,
    resourceToTagIds,
    isDelta: true,
    tagsChangeExtent: extent,
  };
}
