import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import { ApiKeyNotFound, fieldError, UserNotFound, ValidationFailed } from "../errors.ts";
import type { Tx } from "../storage/db.ts";
import { API_KEY_PREFIX } from "./authenticator.ts";
import { hashSecret, newPublicId, newSecret } from "./secrets.ts";

/** An API key as the API shows it: never the secret, except once at creation. */
export interface ApiKeyView {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

type ApiKeyRow = {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
};

/** Maps a stored key to its public view. */
export function presentApiKey(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/**
 * Issues an API key for a user (Nx1's `user_psk`). The full key is returned once and only its
 * hash is stored, so a lost key is replaced, never recovered.
 */
export async function createApiKey(
  tx: Tx,
  ctx: AuditContext,
  input: { userId: string; name: string; expiresAt?: string | undefined },
): Promise<ApiKeyView & { key: string }> {
  const user = await tx.selectFrom("users").where("id", "=", input.userId).select(["id", "org_id"]).executeTakeFirst();
  if (!user) throw UserNotFound(`body.userId: user \`${input.userId}\` not found`);
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw fieldError(ValidationFailed, "body.expiresAt", "future", "must be in the future");
  }
  const prefix = newPublicId();
  const secret = newSecret(`${API_KEY_PREFIX}_${prefix}`);
  const row = await tx
    .insertInto("api_keys")
    .values({ user_id: user.id, name: input.name, prefix, secret_hash: hashSecret(secret), expires_at: expiresAt })
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentApiKey(row);
  await recordAudit(tx, ctx, {
    action: "api_key.created",
    targetType: "api_key",
    targetId: row.id,
    orgId: user.org_id,
    after: view,
  });
  return { ...view, key: secret };
}

/** Revokes a key at once; revoking twice is harmless and records nothing new. */
export async function revokeApiKey(tx: Tx, ctx: AuditContext, id: string): Promise<void> {
  const before = await tx.selectFrom("api_keys").where("id", "=", id).selectAll().executeTakeFirst();
  if (!before) throw ApiKeyNotFound(`api key \`${id}\` not found`);
  if (before.revoked_at) return;
  const after = await tx
    .updateTable("api_keys")
    .set({ revoked_at: new Date() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(tx, ctx, {
    action: "api_key.revoked",
    targetType: "api_key",
    targetId: id,
    before: presentApiKey(before),
    after: presentApiKey(after),
  });
}
