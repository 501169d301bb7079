import type { AuditContext } from "../../audit/audit.service.ts";
import type { RangerServiceDef } from "../../engine/types.ts";
import { TagAssociationNotFound } from "../../errors.ts";
import { applyOne, deletePolicy } from "../../policies/policies.service.ts";
import type { ServiceWithDef } from "../../service-defs/service-defs.store.ts";
import type { Queryable, Tx } from "../../storage/db.ts";

/** A tag-role association as Nx1 answers it. */
export interface TagRoleAssociation {
  id: string;
  tag: string;
  role: string;
  is_readonly: boolean;
}

/**
 * The component access types an association grants: `select` when read-only; otherwise `select`
 * plus every access type that writes (categories UPDATE, CREATE and DELETE: trino `insert`,
 * `create`, `drop`, `delete`, `alter`). Prefixed with the component, as tag policies require.
 */
export function associationAccesses(component: RangerServiceDef, readonly: boolean): string[] {
  const writes = readonly
    ? []
    : (component.accessTypes ?? [])
        .filter((a) => a.category === "UPDATE" || a.category === "CREATE" || a.category === "DELETE")
        .map((a) => a.name);
  return ["select", ...writes].map((a) => `${component.name}:${a}`);
}

/** Name of the tag-based policy behind a tag's associations. */
export function tagPolicyName(tag: string): string {
  return `nx1-tag:${tag}`;
}

/**
 * Rewrites the tag's policy from its associations: one policy per tag (two policies on one tag
 * would share a resource signature), one item per role. Deleted when no association is left.
 */
async function syncTagPolicy(
  tx: Tx,
  ctx: AuditContext,
  tags: ServiceWithDef,
  component: RangerServiceDef | null,
  tag: string,
  previousPolicyId: number | null,
): Promise<number | null> {
  const rows = await listAssociations(tx, tag);
  if (rows.length === 0 || !component) {
    if (previousPolicyId !== null) await deletePolicy(tx, ctx, tags, previousPolicyId);
    return null;
  }
  const outcome = await applyOne(tx, ctx, tags, {
    mode: "upsert",
    policy: {
      name: tagPolicyName(tag),
      description: `Nx1 data access for data tagged \`${tag}\` (tag-role associations)`,
      resources: { tag: { values: [tag] } },
      policyItems: rows.map((r) => ({
        roles: [r.role],
        accesses: associationAccesses(component, r.is_readonly).map((type) => ({ type })),
      })),
      policyLabels: ["nx1-tag-role"],
    },
  });
  await tx.updateTable("tag_role_associations").set({ policy_id: outcome.id }).where("tag", "=", tag).execute();
  return outcome.id;
}

/**
 * Associates a role with a tag: the role gets read (or read-write) access to data carrying the
 * tag, through the tag's tag-based policy. Associating again replaces the access level.
 */
export async function associate(
  tx: Tx,
  ctx: AuditContext,
  tags: ServiceWithDef,
  component: RangerServiceDef,
  tag: string,
  role: string,
  readonly: boolean,
): Promise<TagRoleAssociation> {
  await tx
    .insertInto("tag_role_associations")
    .values({ tag, role, is_readonly: readonly })
    .onConflict((oc) => oc.columns(["tag", "role"]).doUpdateSet({ is_readonly: readonly }))
    .execute();
  await syncTagPolicy(tx, ctx, tags, component, tag, null);
  return tx
    .selectFrom("tag_role_associations")
    .select(["id", "tag", "role", "is_readonly"])
    .where("tag", "=", tag)
    .where("role", "=", role)
    .executeTakeFirstOrThrow();
}

/** Associations of one tag, or all of them, by tag then role. */
export async function listAssociations(db: Queryable, tag?: string): Promise<TagRoleAssociation[]> {
  let q = db
    .selectFrom("tag_role_associations")
    .select(["id", "tag", "role", "is_readonly"])
    .orderBy("tag")
    .orderBy("role");
  if (tag !== undefined) q = q.where("tag", "=", tag);
  return q.execute();
}

/** Removes an association and the role's item from the tag's policy. */
export async function dissociate(
  tx: Tx,
  ctx: AuditContext,
  tags: ServiceWithDef,
  component: RangerServiceDef,
  tag: string,
  role: string,
): Promise<void> {
  const row = await tx
    .deleteFrom("tag_role_associations")
    .where("tag", "=", tag)
    .where("role", "=", role)
    .returning(["policy_id"])
    .executeTakeFirst();
  if (!row) throw TagAssociationNotFound(`role \`${role}\` is not associated with tag \`${tag}\``);
  await syncTagPolicy(tx, ctx, tags, component, tag, row.policy_id);
}
