import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";

/** What happened to a resource, tag or tag definition (the log's `change_type`). */
export type TagChangeType = "added" | "updated" | "deleted";

/**
 * What the log can name (`object_type`); `none` marks a version that changed nothing, `all` one
 * that cannot be sent as a delta.
 */
export type TagChangeObject = "resource" | "tag" | "tag_def" | "none" | "all";

/** How the writers keep the log bounded. */
export interface TagLogOptions {
  /** Tag versions per service kept in the log (`tagChangeLogVersions`); 0 keeps none. */
  keepVersions: number;
}

/** The default of `GATEHOUSE_TAG_CHANGE_LOG_VERSIONS`, for callers without a config (tests, seeds). */
export const DEFAULT_TAG_LOG: TagLogOptions = { keepVersions: 10_000 };

/**
 * Entries of one service and version above which the version is logged as `all` instead: a delta
 * naming that many objects is about as large as the document (a `replace` import of a big
 * service), and readers then take the document, which costs no more.
 */
export const MAX_LOGGED_CHANGES = 10_000;

/** One service's changes within a transaction, by object id. */
interface ServiceChanges {
  resources: Map<number, TagChangeType>;
  tags: Map<number, TagChangeType>;
  tagDefs: Map<number, TagChangeType>;
  /** The version cannot be expressed as a delta (a resource's elements changed in place). */
  all: boolean;
}

/** `deleted` outlasts anything, `added` outlasts `updated`: the net change within one version. */
function merge(map: Map<number, TagChangeType>, id: number, change: TagChangeType): void {
  const before = map.get(id);
  if (before === "deleted" || (before === "added" && change === "updated")) return;
  map.set(id, change);
}

/**
 * The resource-tag changes one transaction makes, collected by the writers as they go and written
 * by `commitTagChanges` with the tag version bump. Recording more than changed is harmless (a
 * reader sends what the object is now, or its removal when the service no longer has it);
 * recording less is not, so every writer records each resource whose elements, owner or tag ids
 * change and each tag or tag definition whose content changes or which a resource gains or loses.
 */
export class TagChanges {
  readonly #services = new Map<number, ServiceChanges>();

  #of(serviceId: number): ServiceChanges {
    let s = this.#services.get(serviceId);
    if (!s) {
      s = { resources: new Map(), tags: new Map(), tagDefs: new Map(), all: false };
      this.#services.set(serviceId, s);
    }
    return s;
  }

  /** A service resource was added, deleted, or changed (owner, or the tags it carries). */
  resource(serviceId: number, id: number, change: TagChangeType): this {
    merge(this.#of(serviceId).resources, id, change);
    return this;
  }

  /** A tag was added to, changed in, or removed from the service's document. */
  tag(serviceId: number, id: number, change: TagChangeType): this {
    merge(this.#of(serviceId).tags, id, change);
    return this;
  }

  /** A tag definition the service's tags use was added or changed. */
  tagDef(serviceId: number, id: number, change: TagChangeType): this {
    merge(this.#of(serviceId).tagDefs, id, change);
    return this;
  }

  /**
   * The service's document changed in a way a delta cannot reproduce exactly (a resource's
   * elements changed in place: Ranger's `applyDelta` would move it to the end of the resource
   * list, which a fresh download orders by id): readers take the whole document.
   */
  all(serviceId: number): this {
    this.#of(serviceId).all = true;
    return this;
  }

  /** Adds the service with nothing recorded yet: its version is bumped (a `none` entry unless more is recorded). */
  touch(serviceId: number): this {
    this.#of(serviceId);
    return this;
  }

  /** Services with changes, in id order (the order `lockServices` locked them in). */
  services(): number[] {
    return [...this.#services.keys()].sort((a, b) => a - b);
  }

  /** The log entries of one service: one `none` when nothing was recorded, one `all` for too many. */
  entries(serviceId: number): { object_type: TagChangeObject; object_id: number; change_type: TagChangeType }[] {
    const s = this.#services.get(serviceId);
    const size = s ? s.resources.size + s.tags.size + s.tagDefs.size : 0;
    if (!s || s.all || size > MAX_LOGGED_CHANGES) return [{ object_type: "all", object_id: 0, change_type: "updated" }];
    if (size === 0) return [{ object_type: "none", object_id: 0, change_type: "updated" }];
    const out: { object_type: TagChangeObject; object_id: number; change_type: TagChangeType }[] = [];
    for (const [id, change] of s.resources) out.push({ object_type: "resource", object_id: id, change_type: change });
    for (const [id, change] of s.tags) out.push({ object_type: "tag", object_id: id, change_type: change });
    for (const [id, change] of s.tagDefs) out.push({ object_type: "tag_def", object_id: id, change_type: change });
    return out;
  }
}

/** Rows per insert: three parameters each, well under PostgreSQL's 65,535. */
const INSERT_CHUNK = 5000;

/**
 * Bumps the tag version of every service with changes (rows already locked by `lockServices`) and
 * writes their change-log entries with the new version, then prunes each service's entries older
 * than the last `keepVersions` versions: all in the caller's transaction, which also holds the
 * change and its audit event. The bump notifies other processes (migration 0004's trigger on
 * `services`); they and plugins read the entries to catch up (`readServiceTagsDelta`).
 */
export async function commitTagChanges(
  db: Queryable,
  changes: TagChanges,
  log: TagLogOptions = DEFAULT_TAG_LOG,
): Promise<void> {
  const ids = changes.services();
  if (ids.length === 0) return;
  const bumped = await db
    .updateTable("services")
    .set({ tag_version: sql`tag_version + 1`, tag_update_time: sql`now()` })
    .where("id", "in", ids)
    .returning(["id", "tag_version"])
    .execute();
  for (const { id, tag_version } of bumped) {
    if (log.keepVersions > 0) {
      const rows = changes.entries(id).map((e) => ({ service_id: id, tag_version, ...e }));
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await db
          .insertInto("tag_changes")
          .values(rows.slice(i, i + INSERT_CHUNK))
          .execute();
      }
    }
    await db
      .deleteFrom("tag_changes")
      .where("service_id", "=", id)
      .where("tag_version", "<=", tag_version - log.keepVersions)
      .execute();
  }
}
