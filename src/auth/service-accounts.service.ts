import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import { defaultOrgId } from "../directory/default-org.ts";
import { orgRulesOf } from "../directory/org-rules.ts";
import { fieldError, ServiceAccountNameTaken, ServiceAccountNotFound, ValidationFailed } from "../errors.ts";
import { visibleName } from "../http/names.ts";
import type { Tx } from "../storage/db.ts";
import { BUILTIN_ROLES } from "./abilities.ts";
import { hashSecret, newPublicId, newSecret } from "./secrets.ts";

/** A service account as the API shows it (the secret only once, at creation or rotation). */
export interface ServiceAccountView {
  id: string;
  orgId: string;
  name: string;
  description: string;
  clientId: string;
  roles: string[];
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

type Row = {
  id: string;
  org_id: string;
  name: string;
  description: string;
  client_id: string;
  roles: string[];
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
};

/** Maps a stored service account to its public view. */
export function presentServiceAccount(row: Row): ServiceAccountView {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    description: row.description,
    clientId: row.client_id,
    roles: row.roles,
    disabled: row.disabled,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function checkRoles(roles: string[]): void {
  const known = new Set<string>(BUILTIN_ROLES);
  const unknown = roles.filter((role) => !known.has(role));
  if (unknown.length > 0) {
    throw fieldError(
      ValidationFailed,
      "body.roles",
      "enum",
      `\`${unknown.join("`, `")}\` is not a built-in role (${BUILTIN_ROLES.join(", ")})`,
    );
  }
}

/**
 * Creates a service account for machine clients (`Authorization: Basic clientId:secret`).
 * The secret is returned once; only its hash is kept.
 */
export async function createServiceAccount(
  tx: Tx,
  ctx: AuditContext,
  input: { name: string; description?: string | undefined; roles: string[]; orgId?: string | undefined },
): Promise<ServiceAccountView & { clientSecret: string }> {
  // one spelling per name: NFD and NFC "é" are one service account (docs/input-rules.md)
  const name = visibleName(input.name, "body.name");
  if (name !== input.name) return createServiceAccount(tx, ctx, { ...input, name });
  checkRoles(input.roles);
  const orgId = input.orgId ?? (await defaultOrgId(tx));
  // an unknown organisation is the caller's mistake (422 naming the field), not a foreign-key 500
  if (input.orgId) await orgRulesOf(tx, input.orgId, "body.orgId");
  const taken = await tx
    .selectFrom("service_accounts")
    .where("org_id", "=", orgId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", input.name.toLowerCase()))
    .select("id")
    .executeTakeFirst();
  if (taken) {
    throw ServiceAccountNameTaken(`body.name: service account \`${input.name}\` exists`, {
      details: [{ field: "body.name", rule: "unique", message: `body.name: \`${input.name}\` is taken` }],
      meta: { existingId: taken.id },
    });
  }
  const clientSecret = newSecret("ghs");
  const row = await tx
    .insertInto("service_accounts")
    .values({
      org_id: orgId,
      name: input.name,
      description: input.description ?? "",
      client_id: `sa-${newPublicId()}`,
      secret_hash: hashSecret(clientSecret),
      roles: input.roles,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentServiceAccount(row);
  await recordAudit(tx, ctx, {
    action: "service_account.created",
    targetType: "service_account",
    targetId: row.id,
    orgId,
    after: view,
  });
  return { ...view, clientSecret };
}

/** Replaces a service account's secret; the old one stops working when the transaction commits. */
export async function rotateServiceAccountSecret(
  tx: Tx,
  ctx: AuditContext,
  id: string,
): Promise<ServiceAccountView & { clientSecret: string }> {
  const clientSecret = newSecret("ghs");
  const row = await tx
    .updateTable("service_accounts")
    .set({ secret_hash: hashSecret(clientSecret), updated_at: new Date() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw ServiceAccountNotFound(`service account \`${id}\` not found`);
  const view = presentServiceAccount(row);
  await recordAudit(tx, ctx, {
    action: "service_account.secret_rotated",
    targetType: "service_account",
    targetId: id,
    orgId: row.org_id,
    after: view,
  });
  return { ...view, clientSecret };
}

/** Deletes a service account; its credentials stop working at commit. */
export async function deleteServiceAccount(tx: Tx, ctx: AuditContext, id: string): Promise<void> {
  const row = await tx.deleteFrom("service_accounts").where("id", "=", id).returningAll().executeTakeFirst();
  if (!row) throw ServiceAccountNotFound(`service account \`${id}\` not found`);
  await recordAudit(tx, ctx, {
    action: "service_account.deleted",
    targetType: "service_account",
    targetId: id,
    orgId: row.org_id,
    before: presentServiceAccount(row),
  });
}
