import { sql } from "kysely";
import { GroupDepthExceeded, GroupHierarchyCycle } from "../errors.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { fail } from "./fail.ts";

// INVARIANT: group_closure holds one row per (ancestor, descendant) pair of the same tree,
// including (g, g, 0), and is changed in the same transaction as the groups it describes.

const HIERARCHY_LOCK_CLASS = 4242;

/**
 * Serialises hierarchy changes within an organisation: creations under a parent take the lock
 * shared (they cannot form cycles between themselves), moves take it exclusive, so two moves can
 * never build a cycle together and a creation never reads ancestors that a move is rewriting.
 */
export async function lockHierarchy(tx: Tx, orgId: string, mode: "shared" | "exclusive"): Promise<void> {
  if (mode === "shared") {
    await sql`select pg_advisory_xact_lock_shared(${HIERARCHY_LOCK_CLASS}, hashtext(${orgId}))`.execute(tx);
  } else {
    await sql`select pg_advisory_xact_lock(${HIERARCHY_LOCK_CLASS}, hashtext(${orgId}))`.execute(tx);
  }
}

/** The level of a group: 1 for a root, 2 for its children, and so on. */
export async function levelOf(db: Queryable, groupId: string): Promise<number> {
  const row = await db
    .selectFrom("group_closure")
    .where("descendant_id", "=", groupId)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Levels a subtree spans: 1 for a leaf. */
async function heightOf(db: Queryable, groupId: string): Promise<number> {
  const row = await db
    .selectFrom("group_closure")
    .where("ancestor_id", "=", groupId)
    .select((eb) => eb.fn.max("depth").as("d"))
    .executeTakeFirstOrThrow();
  return Number(row.d ?? 0) + 1;
}

/** Throws GROUP_DEPTH_EXCEEDED (422) naming `field` when a tree would exceed `maxDepth` levels. */
export function checkDepth(levels: number, maxDepth: number, field: string): void {
  if (levels > maxDepth) {
    throw fail(
      GroupDepthExceeded,
      field,
      "maxDepth",
      `the hierarchy would be ${levels} levels deep; the organisation allows ${maxDepth}`,
    );
  }
}

/** Adds the closure rows of a new group: itself, and every ancestor of its parent. */
export async function insertClosure(tx: Tx, groupId: string, parentId: string | null): Promise<void> {
  if (!parentId) {
    await tx.insertInto("group_closure").values({ ancestor_id: groupId, descendant_id: groupId, depth: 0 }).execute();
    return;
  }
  await sql`
    insert into group_closure (ancestor_id, descendant_id, depth)
    select ancestor_id, ${groupId}::uuid, depth + 1 from group_closure where descendant_id = ${parentId}::uuid
    union all select ${groupId}::uuid, ${groupId}::uuid, 0`.execute(tx);
}

/**
 * Moves a subtree under a new parent (or to the top with null), keeping the closure exact.
 * Callers hold the exclusive hierarchy lock.
 *
 * @throws GROUP_HIERARCHY_CYCLE (409) when the parent is the group or one of its descendants;
 * GROUP_DEPTH_EXCEEDED (422) when the moved subtree would end deeper than `maxDepth`.
 */
export async function moveSubtree(tx: Tx, groupId: string, parentId: string | null, maxDepth: number): Promise<void> {
  if (parentId) {
    const inside = await tx
      .selectFrom("group_closure")
      .where("ancestor_id", "=", groupId)
      .where("descendant_id", "=", parentId)
      .select("depth")
      .executeTakeFirst();
    if (inside) {
      throw fail(
        GroupHierarchyCycle,
        "body.parentId",
        "acyclic",
        parentId === groupId
          ? "a group cannot be its own parent"
          : `group \`${parentId}\` is a descendant of group \`${groupId}\`; the move would form a cycle`,
      );
    }
    checkDepth((await levelOf(tx, parentId)) + (await heightOf(tx, groupId)), maxDepth, "body.parentId");
  }
  await sql`
    delete from group_closure
    where descendant_id in (select descendant_id from group_closure where ancestor_id = ${groupId}::uuid)
      and ancestor_id in (select ancestor_id from group_closure where descendant_id = ${groupId}::uuid
                          and ancestor_id <> ${groupId}::uuid)`.execute(tx);
  if (parentId) {
    await sql`
      insert into group_closure (ancestor_id, descendant_id, depth)
      select p.ancestor_id, s.descendant_id, p.depth + s.depth + 1
      from group_closure p cross join group_closure s
      where p.descendant_id = ${parentId}::uuid and s.ancestor_id = ${groupId}::uuid`.execute(tx);
  }
}

/**
 * Rebuilds the closure rows of every group of an organisation from `parent_id` in one statement:
 * the bulk path for imports (and the benchmark's loader), which insert groups set-wise and then
 * derive the closure once instead of row by row.
 */
export async function rebuildClosure(tx: Tx, orgId: string): Promise<number> {
  await sql`delete from group_closure where descendant_id in (select id from groups where org_id = ${orgId}::uuid)`.execute(
    tx,
  );
  const result = await sql`
    insert into group_closure (ancestor_id, descendant_id, depth)
    with recursive walk(ancestor_id, descendant_id, depth) as (
      select id, id, 0 from groups where org_id = ${orgId}::uuid
      union all
      select w.ancestor_id, g.id, w.depth + 1 from walk w join groups g on g.parent_id = w.descendant_id
    )
    select ancestor_id, descendant_id, depth from walk`.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}
