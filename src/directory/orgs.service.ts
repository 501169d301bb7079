import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import { OrgNameTaken, OrgNotFound } from "../errors.ts";
import { normaliseName, visibleName } from "../http/names.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { OrgRow } from "../storage/schema.ts";
import { fail, isUniqueViolation } from "./fail.ts";
import { checkNamePattern } from "./group-names.ts";
import { checkMetaschema, DEFAULT_GROUP_METASCHEMA } from "./metaschema.ts";
import { forgetOrgRules } from "./org-rules.ts";
import { type OrgView, presentOrg } from "./present.ts";

/** Fields of a new organisation. */
export interface CreateOrgInput {
  name: string;
  title?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** A stricter group-name pattern (e.g. Frontier's `^[A-Za-z0-9_-]+$`), on top of the built-in rules. */
  groupNamePattern?: string | null | undefined;
  /** Deepest group hierarchy allowed, in levels (default 32). */
  groupMaxDepth?: number | undefined;
}

/** Changes to an organisation; absent fields are left as they are. */
export type UpdateOrgInput = Partial<Omit<CreateOrgInput, "name">>;

/** Reads an organisation or throws ORG_NOT_FOUND (404) naming `field`. */
export async function getOrgRow(db: Queryable, id: string, field = "path.id"): Promise<OrgRow> {
  const row = await db.selectFrom("orgs").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fail(OrgNotFound, field, "exists", `organisation \`${id}\` not found`);
  return row;
}

/** Finds an organisation by name (case-insensitive), for APIs that accept a name where an id goes (Frontier). */
export async function findOrgByName(db: Queryable, name: string): Promise<OrgRow | null> {
  const row = await db
    .selectFrom("orgs")
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", normaliseName(name).toLowerCase()))
    .selectAll()
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Creates an organisation. Names are unique case-insensitively, because URLs and policies quote them.
 *
 * @throws ORG_NAME_TAKEN (409) with the existing organisation's id.
 */
export async function createOrg(tx: Tx, ctx: AuditContext, input: CreateOrgInput): Promise<OrgView> {
  // one spelling per name: NFD and NFC "é" are one organisation (docs/input-rules.md)
  const name = visibleName(input.name, "body.name");
  if (name !== input.name) return createOrg(tx, ctx, { ...input, name });
  if (input.groupNamePattern) checkNamePattern(input.groupNamePattern);
  const taken = await tx
    .selectFrom("orgs")
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", input.name.toLowerCase()))
    .select("id")
    .executeTakeFirst();
  if (taken) throw orgNameTaken(input.name, taken.id);
  let row: OrgRow;
  try {
    row = await tx
      .insertInto("orgs")
      .values({
        name: input.name,
        title: input.title ?? "",
        metadata: JSON.stringify(input.metadata ?? {}),
        group_name_pattern: input.groupNamePattern ?? null,
        ...(input.groupMaxDepth ? { group_max_depth: input.groupMaxDepth } : {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw orgNameTaken(input.name, null);
    throw err;
  }
  const view = presentOrg(row);
  await recordAudit(tx, ctx, {
    action: "org.created",
    targetType: "org",
    targetId: row.id,
    orgId: row.id,
    after: view,
  });
  return view;
}

/** Updates an organisation's title, metadata and group rules. Existing groups are not re-checked. */
export async function updateOrg(tx: Tx, ctx: AuditContext, id: string, input: UpdateOrgInput): Promise<OrgView> {
  const before = presentOrg(await getOrgRow(tx, id));
  if (input.groupNamePattern) checkNamePattern(input.groupNamePattern);
  const row = await tx
    .updateTable("orgs")
    .set({
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.metadata !== undefined ? { metadata: JSON.stringify(input.metadata) } : {}),
      ...(input.groupNamePattern !== undefined ? { group_name_pattern: input.groupNamePattern } : {}),
      ...(input.groupMaxDepth !== undefined ? { group_max_depth: input.groupMaxDepth } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentOrg(row);
  forgetOrgRules(id);
  await recordAudit(tx, ctx, {
    action: "org.updated",
    targetType: "org",
    targetId: id,
    orgId: id,
    before,
    after: view,
  });
  return view;
}

/**
 * Replaces the organisation's group metaschema (a JSON Schema 2020-12). Existing groups keep
 * their metadata; the schema applies to later writes.
 *
 * @throws METASCHEMA_INVALID when ajv cannot compile the schema.
 */
export async function setGroupMetaschema(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  schema: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  await getOrgRow(tx, orgId);
  checkMetaschema(schema);
  const previous = await tx
    .selectFrom("metaschemas")
    .where("org_id", "=", orgId)
    .where("kind", "=", "group")
    .select("schema")
    .executeTakeFirst();
  await tx
    .insertInto("metaschemas")
    .values({ org_id: orgId, kind: "group", schema: JSON.stringify(schema) })
    .onConflict((oc) =>
      oc.columns(["org_id", "kind"]).doUpdateSet({ schema: JSON.stringify(schema), updated_at: new Date() }),
    )
    .execute();
  forgetOrgRules(orgId);
  await recordAudit(tx, ctx, {
    action: "metaschema.updated",
    targetType: "metaschema",
    targetId: `${orgId}/group`,
    orgId,
    before: previous?.schema ?? DEFAULT_GROUP_METASCHEMA,
    after: schema,
  });
  return schema;
}

function orgNameTaken(name: string, existingId: string | null) {
  return fail(
    OrgNameTaken,
    "body.name",
    "unique",
    `organisation \`${name}\` exists`,
    existingId ? { existingId } : undefined,
  );
}

/**
 * Drops the organisation's own group metaschema so the built-in default applies again (Frontier's
 * DeleteMetaSchema maps here: Gatehouse always validates group metadata). Returns whether there was one.
 */
export async function resetGroupMetaschema(tx: Tx, ctx: AuditContext, orgId: string): Promise<boolean> {
  const removed = await tx
    .deleteFrom("metaschemas")
    .where("org_id", "=", orgId)
    .where("kind", "=", "group")
    .returning("schema")
    .executeTakeFirst();
  if (!removed) return false;
  forgetOrgRules(orgId);
  await recordAudit(tx, ctx, {
    action: "metaschema.updated",
    targetType: "metaschema",
    targetId: `${orgId}/group`,
    orgId,
    before: removed.schema,
    after: DEFAULT_GROUP_METASCHEMA,
  });
  return true;
}
