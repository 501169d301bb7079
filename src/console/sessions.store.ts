import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import { hashSecret } from "../auth/secrets.ts";
import type { Database } from "../storage/schema.ts";

/** Name of the cookie that carries a console session's secret. */
export const SESSION_COOKIE = "gatehouse_session";

/** How a session was opened: the credential's own `authMethod`, so the session acts exactly as it. */
export type SessionAuthMethod = "general_psk" | "user_psk" | "keycloak_token";

/** A console session row, as the authenticator and the routes read it. */
export interface ConsoleSession {
  id: string;
  authMethod: SessionAuthMethod;
  credentialId: string;
  apiKeyId: string | null;
  tokenClaims: Record<string, unknown> | null;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
  revokedAt: Date | null;
}

/** What opening a session gives the browser: the cookie's secret (shown once) and the CSRF token. */
export interface OpenedSession {
  id: string;
  secret: string;
  csrfToken: string;
  expiresAt: Date;
}

/**
 * The CSRF token of a session, derived from its secret (HMAC), so it needs no storage to check and
 * `GET /v1/console/session` can hand it out again, while a page that cannot read the HttpOnly
 * cookie cannot compute it.
 */
export function csrfTokenOf(secret: string): string {
  return createHmac("sha256", secret).update("gatehouse console csrf").digest("base64url");
}

/** Whether a presented `X-CSRF-Token` is the session's, compared in constant time. */
export function csrfMatches(secret: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(csrfTokenOf(secret));
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Inserts a session in the caller's transaction; only hashes of its secret and CSRF token are stored. */
export async function insertSession(
  tx: Kysely<Database>,
  input: {
    authMethod: SessionAuthMethod;
    credentialId: string;
    apiKeyId?: string | null;
    tokenClaims?: Record<string, unknown> | null;
    lifetimeSeconds: number;
  },
): Promise<OpenedSession> {
  const secret = `ghs_${randomBytes(32).toString("base64url")}`;
  const csrfToken = csrfTokenOf(secret);
  const expiresAt = new Date(Date.now() + input.lifetimeSeconds * 1000);
  const row = await tx
    .insertInto("console_sessions")
    .values({
      secret_hash: hashSecret(secret),
      csrf_hash: hashSecret(csrfToken),
      auth_method: input.authMethod,
      credential_id: input.credentialId,
      api_key_id: input.apiKeyId ?? null,
      token_claims: input.tokenClaims ? JSON.stringify(input.tokenClaims) : null,
      expires_at: expiresAt,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, secret, csrfToken, expiresAt };
}

/** The session whose secret hashes to `secretHash`, whatever its state, or undefined. */
export async function findSession(db: Kysely<Database>, secretHash: string): Promise<ConsoleSession | undefined> {
  const row = await db
    .selectFrom("console_sessions")
    .where("secret_hash", "=", secretHash)
    .selectAll()
    .executeTakeFirst();
  return row ? toSession(row) : undefined;
}

/** Records that a session was used now (the idle timeout counts from here). */
export async function touchSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable("console_sessions").set({ last_seen_at: new Date() }).where("id", "=", id).execute();
}

/** Revokes a live session in the caller's transaction; returns it, or undefined when already ended. */
export async function revokeSession(tx: Kysely<Database>, secretHash: string): Promise<ConsoleSession | undefined> {
  const row = await tx
    .updateTable("console_sessions")
    .set({ revoked_at: new Date() })
    .where("secret_hash", "=", secretHash)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  return row ? toSession(row) : undefined;
}

/**
 * Removes sessions ended more than a day ago and OIDC sign-ins past their expiry (housekeeping);
 * returns how many sessions went.
 */
export async function pruneConsoleSessions(db: Kysely<Database>): Promise<number> {
  const dayAgo = new Date(Date.now() - 24 * 3600_000);
  const removed = await db
    .deleteFrom("console_sessions")
    .where((eb) => eb.or([eb("expires_at", "<", dayAgo), eb("revoked_at", "<", dayAgo)]))
    .executeTakeFirst();
  await db.deleteFrom("console_oidc_logins").where("expires_at", "<", new Date()).execute();
  return Number(removed.numDeletedRows);
}

type SessionRow = {
  id: string;
  auth_method: SessionAuthMethod;
  credential_id: string;
  api_key_id: string | null;
  token_claims: Record<string, unknown> | null;
  created_at: Date;
  expires_at: Date;
  last_seen_at: Date;
  revoked_at: Date | null;
};

function toSession(row: SessionRow): ConsoleSession {
  return {
    id: row.id,
    authMethod: row.auth_method,
    credentialId: row.credential_id,
    apiKeyId: row.api_key_id,
    tokenClaims: row.token_claims,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastSeenAt: row.last_seen_at,
    revokedAt: row.revoked_at,
  };
}

/** An OIDC sign-in between the redirect to the issuer and its callback. */
export interface PendingOidcLogin {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
  expiresAt: Date;
}

/** Keeps a sign-in's PKCE verifier, nonce and return path under the hash of its `state`. */
export async function savePendingLogin(db: Kysely<Database>, state: string, login: PendingOidcLogin): Promise<void> {
  await db
    .insertInto("console_oidc_logins")
    .values({
      state_hash: hashSecret(state),
      code_verifier: login.codeVerifier,
      nonce: login.nonce,
      return_to: login.returnTo,
      expires_at: login.expiresAt,
    })
    .execute();
}

/** Takes (reads and deletes: a state is used once) the sign-in of `state`, or undefined. */
export async function takePendingLogin(db: Kysely<Database>, state: string): Promise<PendingOidcLogin | undefined> {
  const row = await db
    .deleteFrom("console_oidc_logins")
    .where("state_hash", "=", hashSecret(state))
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  return { codeVerifier: row.code_verifier, nonce: row.nonce, returnTo: row.return_to, expiresAt: row.expires_at };
}
