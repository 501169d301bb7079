import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import { hashSecret, newPublicId, newSecret } from "../auth/secrets.ts";
import { fieldError, ReferenceNotFound, ScimClientNotFound } from "../errors.ts";
import type { Queryable, Tx } from "../storage/db.ts";

/** Prefix of SCIM client tokens (`ghs_<prefix>_<secret>`), told apart from API keys (`ghk_`) at a glance. */
export const SCIM_TOKEN_PREFIX = "ghs";

/** A SCIM client as the API shows it: never the token, except once at creation. */
export interface ScimClientView {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

type ScimClientRow = {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
};

/** Maps a stored SCIM client to its public view. */
export function presentScimClient(row: ScimClientRow): ScimClientView {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/**
 * Creates a SCIM client of one organisation: the bearer token an identity provider (Entra ID,
 * Okta) is configured with. Made like an API key (src/auth/api-keys.service.ts): the token is
 * returned once and only its hash is stored, so a lost token is replaced, never recovered.
 *
 * @throws REFERENCE_NOT_FOUND naming `body.orgId` for an unknown organisation.
 */
export async function createScimClient(
  tx: Tx,
  ctx: AuditContext,
  input: { orgId: string; name: string },
): Promise<ScimClientView & { token: string }> {
  const org = await tx.selectFrom("orgs").where("id", "=", input.orgId).select("id").executeTakeFirst();
  if (!org) throw fieldError(ReferenceNotFound, "body.orgId", "exists", `organisation \`${input.orgId}\` not found`);
  const prefix = newPublicId();
  const token = newSecret(`${SCIM_TOKEN_PREFIX}_${prefix}`);
  const row = await tx
    .insertInto("scim_clients")
    .values({ org_id: org.id, name: input.name, prefix, secret_hash: hashSecret(token) })
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentScimClient(row);
  await recordAudit(tx, ctx, {
    action: "scim_client.created",
    targetType: "scim_client",
    targetId: row.id,
    orgId: row.org_id,
    after: view,
  });
  return { ...view, token };
}

/** Reads a SCIM client or throws SCIM_CLIENT_NOT_FOUND (404). */
export async function getScimClient(db: Queryable, id: string): Promise<ScimClientView> {
  const row = await db.selectFrom("scim_clients").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fieldError(ScimClientNotFound, "path.id", "exists", `scim client \`${id}\` not found`);
  return presentScimClient(row);
}

/**
 * Revokes a SCIM client at once (its token stops working on the next request of this process,
 * within the credential cache's few seconds on others). What it provisioned stays, marked with
 * its id. Revoking twice is harmless and records nothing new.
 */
export async function revokeScimClient(tx: Tx, ctx: AuditContext, id: string): Promise<void> {
  const before = await tx.selectFrom("scim_clients").where("id", "=", id).selectAll().executeTakeFirst();
  if (!before) throw fieldError(ScimClientNotFound, "path.id", "exists", `scim client \`${id}\` not found`);
  if (before.revoked_at) return;
  const after = await tx
    .updateTable("scim_clients")
    .set({ revoked_at: new Date() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(tx, ctx, {
    action: "scim_client.revoked",
    targetType: "scim_client",
    targetId: id,
    orgId: before.org_id,
    before: presentScimClient(before),
    after: presentScimClient(after),
  });
}
