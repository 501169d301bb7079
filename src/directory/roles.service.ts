import { sql } from "kysely";
import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import {
  ReferenceNotFound,
  RoleBuiltinImmutable,
  RoleCompositeCycle,
  RoleNameTaken,
  RoleNotFound,
  ValidationFailed,
} from "../errors.ts";
import { normaliseName, visibleName } from "../http/names.ts";
import { releasePrincipal } from "../policies/principal-references.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { RoleRow } from "../storage/schema.ts";
import { fail } from "./fail.ts";
import { assertMayGrant } from "./grant-guard.ts";
import { lockHierarchy } from "./hierarchy.ts";
import { presentRole, type RoleView } from "./present.ts";

/** Fields of a new role. */
export interface CreateRoleInput {
  orgId: string;
  name: string;
  description?: string | undefined;
  permissions?: string[] | undefined;
  /** Ids of the roles this one bundles (built-in roles or roles of the same organisation). */
  composites?: string[] | undefined;
  /**
   * Ids among `composites` that this role's direct users and groups administer (Ranger's admin
   * member role). On update, absent keeps the flags of the composites that stay.
   */
  administers?: string[] | undefined;
}

/** Changes to a role; `composites` replaces the whole list. */
export type UpdateRoleInput = Partial<Omit<CreateRoleInput, "orgId">>;

/** Reads a role or throws ROLE_NOT_FOUND (404) naming `field`. */
export async function getRoleRow(db: Queryable, id: string, field = "path.id"): Promise<RoleRow> {
  const row = await db.selectFrom("roles").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fail(RoleNotFound, field, "exists", `role \`${id}\` not found`);
  return row;
}

/** The ids of the roles a role bundles directly. */
export async function compositesOf(db: Queryable, roleId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("role_composites")
    .where("role_id", "=", roleId)
    .select("child_role_id")
    .orderBy("child_role_id")
    .execute();
  return rows.map((r) => r.child_role_id);
}

/** The ids of the roles a role bundles directly, and of those among them it administers. */
export async function compositeLinksOf(
  db: Queryable,
  roleId: string,
): Promise<{ composites: string[]; administers: string[] }> {
  const rows = await db
    .selectFrom("role_composites")
    .where("role_id", "=", roleId)
    .select(["child_role_id", "is_admin"])
    .orderBy("child_role_id")
    .execute();
  return {
    composites: rows.map((r) => r.child_role_id),
    administers: rows.filter((r) => r.is_admin).map((r) => r.child_role_id),
  };
}

/** A stored role as the API shows it, with its composite links. */
async function viewOf(db: Queryable, row: RoleRow): Promise<RoleView> {
  const links = await compositeLinksOf(db, row.id);
  return presentRole(row, links.composites, links.administers);
}

/** A role with its composites, as the API shows it. */
export async function getRole(db: Queryable, id: string): Promise<RoleView> {
  return viewOf(db, await getRoleRow(db, id));
}

/**
 * The administered composites, checked to be among `composites`.
 *
 * @throws VALIDATION_FAILED naming `body.administers[i]` for an id that is not a composite.
 */
function checkAdministers(composites: string[], administers: string[]): Set<string> {
  const bundled = new Set(composites);
  for (const [index, id] of administers.entries()) {
    if (!bundled.has(id)) {
      throw fail(
        ValidationFailed,
        `body.administers[${index}]`,
        "inComposites",
        `role \`${id}\` is not among the composites; a role administers only roles it bundles`,
      );
    }
  }
  return new Set(administers);
}

function assertMutable(role: RoleRow): void {
  if (role.builtin) {
    throw fail(RoleBuiltinImmutable, "path.id", "builtin", `role \`${role.name}\` is built in and cannot be changed`);
  }
}

/**
 * Checks the composites of `roleId` and refuses a cycle: no listed role may be the role itself or
 * reach it through its own composites (checked with a recursive query over role_composites).
 */
async function checkComposites(tx: Tx, roleId: string | null, orgId: string, composites: string[]): Promise<void> {
  for (const [index, childId] of composites.entries()) {
    const field = `body.composites[${index}]`;
    const child = await tx.selectFrom("roles").where("id", "=", childId).select(["id", "org_id"]).executeTakeFirst();
    if (!child || (child.org_id !== null && child.org_id !== orgId)) {
      throw fail(ReferenceNotFound, field, "exists", `role \`${childId}\` not found in the organisation`);
    }
    if (!roleId) continue;
    if (childId === roleId) throw fail(RoleCompositeCycle, field, "acyclic", "a role cannot include itself");
    const reach = await sql<{ id: string }>`
      with recursive reach(id) as (
        select child_role_id from role_composites where role_id = ${childId}::uuid
        union
        select rc.child_role_id from role_composites rc join reach on rc.role_id = reach.id
      ) select id from reach where id = ${roleId}::uuid limit 1`.execute(tx);
    if (reach.rows.length > 0) {
      throw fail(
        RoleCompositeCycle,
        field,
        "acyclic",
        `role \`${childId}\` already includes this role; a cycle would form`,
      );
    }
  }
}

async function nameTaken(db: Queryable, orgId: string, name: string) {
  const existing = await db
    .selectFrom("roles")
    .where((eb) => eb.or([eb("org_id", "=", orgId), eb("org_id", "is", null)]))
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", normaliseName(name).toLowerCase()))
    .select("id")
    .executeTakeFirst();
  return existing
    ? fail(RoleNameTaken, "body.name", "unique", `role \`${name}\` exists (compared case-insensitively)`, {
        existingId: existing.id,
      })
    : null;
}

/**
 * Creates a role in an organisation, optionally composite. A name may not shadow a built-in role.
 *
 * @throws ROLE_NAME_TAKEN (409), REFERENCE_NOT_FOUND for unknown composites, VALIDATION_FAILED for
 *   an administered role that is not a composite.
 */
export async function createRole(tx: Tx, ctx: AuditContext, input: CreateRoleInput): Promise<RoleView> {
  // one spelling per name: NFD and NFC "é" are one role (docs/input-rules.md)
  const name = visibleName(input.name, "body.name");
  if (name !== input.name) return createRole(tx, ctx, { ...input, name });
  const taken = await nameTaken(tx, input.orgId, input.name);
  if (taken) throw taken;
  const composites = [...new Set(input.composites ?? [])];
  const administers = checkAdministers(composites, input.administers ?? []);
  await checkComposites(tx, null, input.orgId, composites);
  await assertMayGrant(tx, ctx, composites, "body.composites");
  const row = await tx
    .insertInto("roles")
    .values({
      org_id: input.orgId,
      name: input.name,
      description: input.description ?? "",
      permissions: [...new Set(input.permissions ?? [])],
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  if (composites.length > 0) {
    await tx
      .insertInto("role_composites")
      .values(composites.map((child) => ({ role_id: row.id, child_role_id: child, is_admin: administers.has(child) })))
      .execute();
  }
  const view = await viewOf(tx, row);
  await recordAudit(tx, ctx, {
    action: "role.created",
    targetType: "role",
    targetId: row.id,
    orgId: input.orgId,
    after: view,
  });
  return view;
}

/**
 * Updates a role. Built-in roles are immutable; a new composite list is checked for cycles while
 * holding the organisation's lock, so two concurrent edits cannot close a loop together.
 * `administers` replaces the administered composites; without it, composites that stay keep theirs.
 *
 * @throws ROLE_BUILTIN_IMMUTABLE (409), ROLE_COMPOSITE_CYCLE (409), ROLE_NAME_TAKEN (409),
 *   VALIDATION_FAILED for an administered role that is not a composite.
 */
export async function updateRole(tx: Tx, ctx: AuditContext, id: string, input: UpdateRoleInput): Promise<RoleView> {
  const name = input.name === undefined ? undefined : visibleName(input.name, "body.name");
  if (name !== input.name) return updateRole(tx, ctx, id, { ...input, name });
  const current = await getRoleRow(tx, id);
  assertMutable(current);
  const orgId = current.org_id as string;
  const before = await viewOf(tx, current);
  if (input.name !== undefined && input.name.toLowerCase() !== current.name.toLowerCase()) {
    const taken = await nameTaken(tx, orgId, input.name);
    if (taken) throw taken;
  }
  if (input.composites !== undefined || input.administers !== undefined) {
    await lockHierarchy(tx, `roles:${orgId}`, "exclusive");
    const composites = input.composites === undefined ? before.composites : [...new Set(input.composites)];
    // Without `administers`, a composite that stays keeps its flag.
    const administers = checkAdministers(
      composites,
      input.administers ?? before.administers.filter((c) => composites.includes(c)),
    );
    if (input.composites !== undefined) {
      await checkComposites(tx, id, orgId, composites);
      await assertMayGrant(tx, ctx, composites, "body.composites");
    }
    // Administering a role is handing it out: the same guard as bundling it.
    if (input.administers !== undefined) await assertMayGrant(tx, ctx, [...administers], "body.administers");
    await tx.deleteFrom("role_composites").where("role_id", "=", id).execute();
    if (composites.length > 0) {
      await tx
        .insertInto("role_composites")
        .values(composites.map((child) => ({ role_id: id, child_role_id: child, is_admin: administers.has(child) })))
        .execute();
    }
  }
  const row = await tx
    .updateTable("roles")
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.permissions !== undefined ? { permissions: [...new Set(input.permissions)] } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = await viewOf(tx, row);
  await recordAudit(tx, ctx, { action: "role.updated", targetType: "role", targetId: id, orgId, before, after: view });
  return view;
}

/**
 * Deletes a custom role; its bindings and its place in other composites go with it (audited in
 * `before`). A role that policies name is refused unless `force`, which removes it from those
 * policies (see releasePrincipal; Ranger's RoleDBStore refuses always).
 *
 * @throws PRINCIPAL_IN_POLICIES (409) listing the policies when policies name the role.
 */
export async function deleteRole(tx: Tx, ctx: AuditContext, id: string, force = false): Promise<void> {
  const current = await getRoleRow(tx, id);
  assertMutable(current);
  // the same role name in another organisation keeps the policies' reference meaningful
  const stillHeld = await tx
    .selectFrom("roles")
    .where("name", "=", current.name)
    .where("id", "!=", id)
    .select("id")
    .executeTakeFirst();
  await releasePrincipal(tx, ctx, "role", current.name, force, stillHeld !== undefined);
  const before = await viewOf(tx, current);
  const bindings = await tx.selectFrom("role_bindings").where("role_id", "=", id).select("id").execute();
  await tx.deleteFrom("roles").where("id", "=", id).execute();
  await recordAudit(tx, ctx, {
    action: "role.deleted",
    targetType: "role",
    targetId: id,
    orgId: current.org_id,
    before: { ...before, bindingIds: bindings.map((b) => b.id) },
  });
}
