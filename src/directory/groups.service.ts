import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { type AuditContext, auditRow, recordAudit, recordAuditMany } from "../audit/audit.service.ts";
import { GroupNameTaken, GroupNotEmpty, GroupNotFound, ReferenceNotFound, ValidationFailed } from "../errors.ts";
import { verifyDirectoryGroup } from "../identity-sources/directory-check.ts";
import { releasePrincipal } from "../policies/principal-references.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { GroupRow } from "../storage/schema.ts";
import { defaultOrgId } from "./default-org.ts";
import { fail } from "./fail.ts";
import { checkGroupName, normaliseName } from "./group-names.ts";
import { checkDepth, lockHierarchy, moveSubtree } from "./hierarchy.ts";
import { checkGroupMetadata, checkMetadataWith } from "./metaschema.ts";
import { orgRulesOf } from "./org-rules.ts";
import { type GroupView, presentGroup, presentRoleBinding } from "./present.ts";

/** Fields of a new group. */
export interface CreateGroupInput {
  /** Defaults to the `default` organisation. */
  orgId?: string | undefined;
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  parentId?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  source?: "local" | "ldap" | "oidc" | "scim" | "ranger-usersync" | undefined;
  /** The group's id in its source: an LDAP DN, an OIDC group claim. */
  externalId?: string | null | undefined;
  /** The identity source the group mirrors; with `validate`, its directory must hold `externalId`. */
  identitySourceId?: string | null | undefined;
  /** Check that `externalId` exists in the identity source before writing (default true). */
  validate?: boolean | undefined;
  /**
   * A user who creates the group becomes its first owner (default true, Frontier's rule). APIs
   * without owners (Puppet RBAC, VMware Aria) pass false: there a group's members are exactly
   * the ones named or read from the directory, and a hidden owner would block setting them.
   */
  creatorBecomesOwner?: boolean | undefined;
}

/** Changes to a group; absent fields are left as they are, `parentId: null` moves it to the top. */
export interface UpdateGroupInput {
  name?: string | undefined;
  title?: string | undefined;
  description?: string | undefined;
  parentId?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** Reads a group or throws GROUP_NOT_FOUND (404) naming `field`. */
export async function getGroupRow(db: Queryable, id: string, field = "path.id"): Promise<GroupRow> {
  const row = await db.selectFrom("groups").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fail(GroupNotFound, field, "exists", `group \`${id}\` not found`);
  return row;
}

/** Finds a group by name (case-insensitive) in an organisation; policies refer to groups by name. */
export async function findGroupByName(db: Queryable, orgId: string, name: string): Promise<GroupView | null> {
  const row = await db
    .selectFrom("groups")
    .where("org_id", "=", orgId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", normaliseName(name).toLowerCase()))
    .selectAll()
    .executeTakeFirst();
  return row ? presentGroup(row) : null;
}

async function orgRules(db: Queryable, orgId: string, field: string) {
  const org = await db
    .selectFrom("orgs")
    .where("id", "=", orgId)
    .select(["id", "group_name_pattern", "group_max_depth"])
    .executeTakeFirst();
  if (!org) throw fail(ReferenceNotFound, field, "exists", `organisation \`${orgId}\` not found`);
  return org;
}

async function parentOf(db: Queryable, parentId: string, orgId: string): Promise<GroupRow> {
  const parent = await db.selectFrom("groups").where("id", "=", parentId).selectAll().executeTakeFirst();
  if (!parent || parent.org_id !== orgId) {
    throw fail(ReferenceNotFound, "body.parentId", "exists", `group \`${parentId}\` not found in the organisation`);
  }
  return parent;
}

async function nameTaken(db: Queryable, orgId: string, name: string) {
  const existing = await findGroupByName(db, orgId, name);
  return fail(
    GroupNameTaken,
    "body.name",
    "unique",
    `group \`${name}\` exists in the organisation (names are compared case-insensitively)`,
    existing ? { existingId: existing.id, existingName: existing.name } : undefined,
  );
}

/**
 * Creates a group. Every rule is checked before anything is written: the name rules and the
 * organisation's pattern, the metadata against the metaschema, the parent and the depth limit,
 * and, for a group bound to an LDAP source with `validate`, that the DN exists in the directory
 * (VMware Aria silently creates orphans here). The closure rows and the audit event are written
 * in the same transaction; a user creating a group becomes its first owner (as in Frontier)
 * unless `creatorBecomesOwner` is false.
 * Pass a transaction; a plain connection is accepted and gets one when the creation needs it.
 *
 * @throws GROUP_NAME_TAKEN (409, `meta.existingId`), VALIDATION_FAILED, METADATA_INVALID,
 * REFERENCE_NOT_FOUND, GROUP_DEPTH_EXCEEDED, DIRECTORY_GROUP_NOT_FOUND, DIRECTORY_UNAVAILABLE.
 */
export async function createGroup(db: Tx | Queryable, ctx: AuditContext, input: CreateGroupInput): Promise<GroupView> {
  // one spelling per name: NFD "é" and NFC "é" are the same group (docs/input-rules.md)
  const name = normaliseName(input.name);
  if (name !== input.name) return createGroup(db, ctx, { ...input, name });
  // A top-level group created by a non-user is written by one statement, atomic on its own, so a
  // plain connection saves the BEGIN and COMMIT round trips on the hot path. Anything that needs
  // a lock or a second write runs in a transaction (opened here when the caller did not).
  const creatorOwns = ctx.actor.type === "user" && !!ctx.actor.id && input.creatorBecomesOwner !== false;
  const oneStatement = !input.parentId && !input.identitySourceId && !creatorOwns;
  if (!db.isTransaction && !oneStatement) return db.transaction().execute((tx) => createGroup(tx, ctx, input));
  const tx = db as Tx;
  const orgId = input.orgId ?? (await defaultOrgId(tx));
  const rules = await orgRulesOf(tx, orgId, "body.orgId");
  checkGroupName(input.name, rules.groupNamePattern);
  const metadata = input.metadata ?? {};
  checkMetadataWith(rules.metaschema, metadata);
  const parentId = input.parentId ?? null;
  if (parentId) {
    await lockHierarchy(tx, orgId, "shared");
    const parent = await sql<{ org_id: string; level: number }>`
      select g.org_id, (select count(*) from group_closure c where c.descendant_id = g.id)::int as level
      from groups g where g.id = ${parentId}::uuid`.execute(tx);
    const found = parent.rows[0];
    if (!found || found.org_id !== orgId) {
      throw fail(ReferenceNotFound, "body.parentId", "exists", `group \`${parentId}\` not found in the organisation`);
    }
    checkDepth(Number(found.level) + 1, rules.groupMaxDepth, "body.parentId");
  }
  let source = input.source ?? "local";
  let externalId = input.externalId ?? null;
  if (input.identitySourceId) {
    source = input.source ?? "ldap";
    if (!externalId) {
      throw fail(
        ValidationFailed,
        "body.externalId",
        "required",
        "is required with identitySourceId: give the group's dn",
      );
    }
    const found = await verifyDirectoryGroup(tx, orgId, input.identitySourceId, externalId, input.validate ?? true);
    externalId = found.dn;
  }
  const now = new Date();
  const view: GroupView = {
    id: randomUUID(),
    orgId,
    name: input.name,
    title: input.title ?? "",
    description: input.description ?? "",
    parentId,
    metadata,
    source,
    externalId,
    identitySourceId: input.identitySourceId ?? null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const audit = auditRow(ctx, { action: "group.created", targetType: "group", targetId: view.id, orgId, after: view });
  // One statement writes the group, its closure rows and its audit event (and nothing when the
  // name is taken): creation is the hot path, so it costs one round trip.
  const ancestors = parentId
    ? sql`union all select ancestor_id, ${view.id}::uuid, depth + 1 from group_closure, g where descendant_id = ${parentId}::uuid`
    : sql``;
  const written = await sql<{ id: string }>`
    with g as (
      insert into groups (id, org_id, name, title, description, parent_id, metadata, source, external_id,
                          identity_source_id, created_at, updated_at)
      values (${view.id}::uuid, ${orgId}::uuid, ${view.name}, ${view.title}, ${view.description}, ${parentId}::uuid,
              ${JSON.stringify(metadata)}::jsonb, ${source}, ${externalId}, ${view.identitySourceId}::uuid, ${now}, ${now})
      on conflict do nothing returning id
    ),
    closure as (
      insert into group_closure (ancestor_id, descendant_id, depth)
      select id, id, 0 from g ${ancestors}
    ),
    audited as (
      insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id, org_id,
                                after, request_id, client_ip)
      select ${audit.actor_type}, ${audit.actor_id}, ${audit.actor_name}, ${audit.auth_method}, ${audit.action},
             ${audit.target_type}, ${audit.target_id}, ${orgId}::uuid, ${audit.after}::jsonb, ${audit.request_id},
             ${audit.client_ip} from g
    )
    select id from g`.execute(tx);
  if (written.rows.length === 0) throw await nameTaken(tx, orgId, input.name);
  if (creatorOwns) await addCreatorAsOwner(tx, ctx, view.id, orgId, ctx.actor.id as string);
  return view;
}

/**
 * Creates many top-level groups of one organisation with one statement (the groups, their closure
 * rows and their `group.created` events), for bulk pushes (Ranger usersync sends 1,000 groups a
 * call). Every rule of `createGroup` for a group without parent, identity source or owner is
 * checked first, for every group, before anything is written; a name taken (or given twice) fails
 * the whole call.
 *
 * @throws VALIDATION_FAILED naming `${field}[i].name`, METADATA_INVALID, GROUP_NAME_TAKEN (409).
 */
export async function createGroups(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  inputs: Omit<CreateGroupInput, "orgId" | "parentId" | "identitySourceId" | "validate" | "creatorBecomesOwner">[],
  field = "body",
): Promise<GroupView[]> {
  if (inputs.length === 0) return [];
  const rules = await orgRulesOf(tx, orgId, "body.orgId");
  const now = new Date();
  const views = inputs.map((input, i): GroupView => {
    checkGroupName(input.name, rules.groupNamePattern, `${field}[${i}].name`);
    const metadata = input.metadata ?? {};
    checkMetadataWith(rules.metaschema, metadata);
    return {
      id: randomUUID(),
      orgId,
      name: input.name,
      title: input.title ?? "",
      description: input.description ?? "",
      parentId: null,
      metadata,
      source: input.source ?? "local",
      externalId: input.externalId ?? null,
      identitySourceId: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
  });
  const actor = auditRow(ctx, { action: "group.created", targetType: "group", targetId: null, orgId });
  const column = <K extends keyof GroupView>(key: K) => views.map((v) => v[key]);
  const written = await sql<{ id: string }>`
    with v as (
      select * from unnest(${column("id")}::uuid[], ${column("name")}::text[], ${column("title")}::text[],
                           ${column("description")}::text[], ${views.map((v) => JSON.stringify(v.metadata))}::jsonb[],
                           ${column("source")}::text[], ${column("externalId")}::text[],
                           ${views.map((v) => JSON.stringify(v))}::jsonb[])
        as v(id, name, title, description, metadata, source, external_id, view)
    ),
    g as (
      insert into groups (id, org_id, name, title, description, metadata, source, external_id, created_at, updated_at)
      select id, ${orgId}::uuid, name, title, description, metadata, source, external_id, ${now}, ${now} from v
      on conflict do nothing returning id
    ),
    closure as (insert into group_closure (ancestor_id, descendant_id, depth) select id, id, 0 from g),
    audited as (
      insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id, org_id,
                                after, request_id, client_ip)
      select ${actor.actor_type}, ${actor.actor_id}, ${actor.actor_name}, ${actor.auth_method}, 'group.created',
             'group', g.id::text, ${orgId}::uuid, v.view, ${actor.request_id}, ${actor.client_ip}
      from g join v on v.id = g.id
    )
    select id from g`.execute(tx);
  if (written.rows.length !== views.length) {
    const ids = new Set(written.rows.map((r) => r.id));
    const lower = views.map((v) => v.name.toLowerCase());
    const taken = views.find((v) => !ids.has(v.id)) ?? views.find((v, i) => lower.indexOf(v.name.toLowerCase()) !== i);
    throw await nameTaken(tx, orgId, taken?.name ?? "");
  }
  return views;
}

/** Makes the user who created a group its first owner (Frontier), when it belongs to the group's organisation. */
async function addCreatorAsOwner(tx: Tx, ctx: AuditContext, groupId: string, orgId: string, userId: string) {
  const creator = await tx
    .insertInto("group_members")
    .columns(["group_id", "user_id", "role"])
    .expression((eb) =>
      eb
        .selectFrom("users")
        .where("id", "=", userId)
        .where("org_id", "=", orgId)
        .select([sql<string>`${groupId}::uuid`.as("group_id"), "id", sql<"owner">`'owner'`.as("role")]),
    )
    .returning(["user_id"])
    .execute();
  if (creator.length > 0) {
    await recordAudit(tx, ctx, {
      action: "group.member.added",
      targetType: "group",
      targetId: groupId,
      orgId,
      after: { groupId, userId, role: "owner" },
    });
  }
}

/**
 * Updates a group: renames (same rules as creation), metadata (validated), and moves in the
 * hierarchy, which rewrite the closure rows of the whole subtree in this transaction.
 *
 * @throws GROUP_HIERARCHY_CYCLE (409) when the new parent is the group or below it.
 */
export async function updateGroup(tx: Tx, ctx: AuditContext, id: string, input: UpdateGroupInput): Promise<GroupView> {
  const name = input.name === undefined ? undefined : normaliseName(input.name);
  if (name !== input.name) return updateGroup(tx, ctx, id, { ...input, name });
  const current = await getGroupRow(tx, id);
  const org = await orgRules(tx, current.org_id, "path.id");
  if (input.name !== undefined && input.name !== current.name) checkGroupName(input.name, org.group_name_pattern);
  if (input.metadata !== undefined) await checkGroupMetadata(tx, current.org_id, input.metadata);
  if (input.parentId !== undefined && input.parentId !== current.parent_id) {
    await lockHierarchy(tx, current.org_id, "exclusive");
    if (input.parentId) await parentOf(tx, input.parentId, current.org_id);
    await moveSubtree(tx, id, input.parentId, org.group_max_depth);
  }
  if (input.name !== undefined && input.name.toLowerCase() !== current.name.toLowerCase()) {
    const existing = await findGroupByName(tx, current.org_id, input.name);
    if (existing) throw await nameTaken(tx, current.org_id, input.name);
  }
  const row = await tx
    .updateTable("groups")
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.parentId !== undefined ? { parent_id: input.parentId } : {}),
      ...(input.metadata !== undefined ? { metadata: JSON.stringify(input.metadata) } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentGroup(row);
  await recordAudit(tx, ctx, {
    action: input.parentId !== undefined && input.parentId !== current.parent_id ? "group.moved" : "group.updated",
    targetType: "group",
    targetId: id,
    orgId: row.org_id,
    before: presentGroup(current),
    after: view,
  });
  return view;
}

/**
 * Deletes a group. One with children or members is refused unless `force`, which deletes its
 * subtree deepest first, removing each membership and each binding of the deleted groups
 * explicitly so every removal has its own audit event. A group that policies name is refused
 * unless `forcePolicies` (by default `force`), which removes it from those policies first, each
 * a new policy version (see releasePrincipal): no policy is left naming a group that is gone.
 *
 * @throws GROUP_NOT_EMPTY (409) with the counts in `meta` when not forced.
 * @throws PRINCIPAL_IN_POLICIES (409) listing the policies when policies name a deleted group.
 */
export async function deleteGroup(
  tx: Tx,
  ctx: AuditContext,
  id: string,
  force = false,
  forcePolicies = force,
): Promise<void> {
  const group = await getGroupRow(tx, id);
  await lockHierarchy(tx, group.org_id, "exclusive");
  const subtree = await tx
    .selectFrom("group_closure as c")
    .innerJoin("groups as g", "g.id", "c.descendant_id")
    .where("c.ancestor_id", "=", id)
    .selectAll("g")
    .select("c.depth")
    .orderBy("c.depth", "desc")
    .execute();
  const children = subtree.filter((g) => g.depth === 1).length;
  const members = await tx
    .selectFrom("group_members")
    .where("group_id", "=", id)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  if (!force && (children > 0 || Number(members.n) > 0)) {
    throw fail(
      GroupNotEmpty,
      "query.force",
      "empty",
      `group \`${group.name}\` has ${children} children and ${members.n} members; pass force=true to remove them`,
      { children, members: Number(members.n) },
    );
  }
  const doomed = subtree.map((g) => g.id);
  for (const g of subtree) {
    // the same name in another organisation keeps the policies' reference meaningful
    const stillHeld = await tx
      .selectFrom("groups")
      .where("name", "=", g.name)
      .where("id", "not in", doomed)
      .select("id")
      .executeTakeFirst();
    await releasePrincipal(tx, ctx, "group", g.name, forcePolicies, stillHeld !== undefined);
  }
  for (const g of subtree) {
    const removed = await tx.deleteFrom("group_members").where("group_id", "=", g.id).returningAll().execute();
    const bindings = await tx
      .deleteFrom("role_bindings")
      .where("principal_type", "=", "group")
      .where("principal_id", "=", g.id)
      .returningAll()
      .execute();
    await recordAuditMany(tx, ctx, [
      ...removed.map((m) => ({
        action: "group.member.removed",
        targetType: "group",
        targetId: g.id,
        orgId: g.org_id,
        before: { groupId: g.id, userId: m.user_id, role: m.role },
      })),
      ...bindings.map((b) => ({
        action: "role_binding.deleted",
        targetType: "role_binding",
        targetId: b.id,
        orgId: g.org_id,
        before: presentRoleBinding(b),
      })),
    ]);
    await tx.deleteFrom("groups").where("id", "=", g.id).execute();
    const { depth: _depth, ...row } = g;
    await recordAudit(tx, ctx, {
      action: "group.deleted",
      targetType: "group",
      targetId: g.id,
      orgId: g.org_id,
      before: presentGroup(row),
    });
  }
}
