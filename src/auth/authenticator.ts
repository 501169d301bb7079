import { findSession, touchSession } from "../console/sessions.store.ts";
import { InvalidCredentials, TokenInvalid, Unauthenticated } from "../errors.ts";
import type { Db } from "../storage/db.ts";
import { type Actor, ANONYMOUS } from "./actor.ts";
import { CredentialCache } from "./credential-cache.ts";
import { builtinRolesOf, permissionsOfRoles } from "./credentials.store.ts";
import type { OidcVerifier, VerifiedToken } from "./oidc.ts";
import { hashSecret, secretMatches } from "./secrets.ts";

/** Prefix of per-user API keys, so they are told apart from the general PSK without a lookup. */
export const API_KEY_PREFIX = "ghk";
const LAST_USED_PRECISION_MS = 60_000;

/** Dependencies of the authenticator. */
export interface AuthenticatorOptions {
  db: Db;
  generalPskHash: string;
  oidc?: OidcVerifier | undefined;
  /** Token role → built-in roles. A token role named like a built-in role maps to itself. */
  roleMapping: Readonly<Record<string, readonly string[]>>;
  builtinRoleNames: readonly string[];
  /** Verified credentials kept for a short time (a default cache when absent). */
  cache?: CredentialCache | undefined;
  /** A console session unused for this long ends (seconds; default 3600). */
  sessionIdleSeconds?: number | undefined;
}

/** An API key with its user, as verification reads them. */
interface ApiKeyUserRow {
  keyId: string;
  secret_hash: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  id: string;
  org_id: string;
  username: string;
  email: string | null;
  display_name: string | null;
  status: string;
}

/** The general PSK's actor: the same frozen object for every request that presents it. */
const GENERAL_PSK_ACTOR: Actor = Object.freeze({
  ...ANONYMOUS,
  type: "psk",
  id: "psk",
  name: "psk",
  authMethod: "general_psk",
  roles: Object.freeze(["gatehouse-admin"]) as string[],
  permissions: new Set(["*"]),
});

/**
 * Turns credentials into an `Actor`. Each method returns the actor, or throws a 401 error naming
 * what was wrong with a credential that was presented; it never logs or echoes secrets.
 *
 * The methods answer synchronously whenever they can (the general PSK, a credential verified
 * moments ago and still in the cache), so the common request never waits for a promise; they
 * return a promise only when the database or the token issuer must be asked.
 */
export class Authenticator {
  readonly #options: AuthenticatorOptions;
  readonly #cache: CredentialCache;

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
    this.#cache = options.cache ?? new CredentialCache();
  }

  /** Forgets every cached credential: called after a local change to credentials, users or roles. */
  forgetCredentials(): void {
    this.#cache.clear();
  }

  /**
   * The actor of an `Authorization-PSK` value when it is known without I/O (the general PSK, or an
   * API key verified moments ago), else null. Never starts a verification: a caller that gets null
   * hands the request to `fromPsk`, which verifies once.
   */
  peekPsk(presented: string): Actor | null {
    if (presented.startsWith(`${API_KEY_PREFIX}_`)) return this.#cache.get(`k:${hashSecret(presented)}`) ?? null;
    return secretMatches(presented, this.#options.generalPskHash) ? GENERAL_PSK_ACTOR : null;
  }

  /** The actor of Basic service-account credentials verified moments ago, else null (never verifies). */
  peekBasic(encoded: string): Actor | null {
    return this.#cache.get(`b:${hashSecret(encoded)}`) ?? null;
  }

  /** The actor of a bearer token verified moments ago, else null (never verifies). */
  peekBearer(token: string): Actor | null {
    return this.#options.oidc ? (this.#cache.get(`t:${hashSecret(token)}`) ?? null) : null;
  }

  /**
   * What a console session opened with the general PSK remembers of it: a digest of its hash, so a
   * changed general PSK ends those sessions, and the session row holds nothing that verifies a key.
   */
  get generalPskFingerprint(): string {
    return hashSecret(`console-session:${this.#options.generalPskHash}`);
  }

  /** `Authorization-PSK`: the general PSK or a user's API key. */
  fromPsk(presented: string): Actor | Promise<Actor> {
    if (presented.startsWith(`${API_KEY_PREFIX}_`)) return this.fromApiKey(presented);
    if (!secretMatches(presented, this.#options.generalPskHash)) {
      throw InvalidCredentials("the pre-shared key is not valid");
    }
    return GENERAL_PSK_ACTOR;
  }

  /** A per-user API key (`ghk_<prefix>_<secret>`): valid while not revoked, not expired and its user active. */
  fromApiKey(presented: string): Actor | Promise<Actor> {
    const key = `k:${hashSecret(presented)}`;
    return this.#cache.get(key) ?? this.#verifyApiKey(presented, key);
  }

  async #verifyApiKey(presented: string, cacheKey: string): Promise<Actor> {
    const prefix = presented.split("_")[1] ?? "";
    const row = await this.#apiKeyRow("prefix", prefix);
    // Hash anyway when no row matched, so timing does not reveal which prefixes exist.
    const matches = secretMatches(presented, row?.secret_hash ?? hashSecret("absent"));
    if (!row || !matches) throw InvalidCredentials("the api key is not valid");
    const actor = await this.#apiKeyActor(row);
    this.#cache.set(cacheKey, actor, row.expires_at?.getTime());
    return actor;
  }

  #apiKeyRow(by: "prefix" | "id", value: string): Promise<ApiKeyUserRow | undefined> {
    return this.#options.db.kysely
      .selectFrom("api_keys as k")
      .innerJoin("users as u", "u.id", "k.user_id")
      .where(by === "id" ? "k.id" : "k.prefix", "=", value)
      .select([
        "k.id as keyId",
        "k.secret_hash",
        "k.expires_at",
        "k.revoked_at",
        "k.last_used_at",
        "u.id",
        "u.org_id",
        "u.username",
        "u.email",
        "u.display_name",
        "u.status",
      ])
      .executeTakeFirst();
  }

  /** The actor of an API key's row: refused when the key is revoked or expired, or its user disabled. */
  async #apiKeyActor(row: ApiKeyUserRow): Promise<Actor> {
    if (row.revoked_at) throw InvalidCredentials("the api key is not valid");
    if (row.expires_at && row.expires_at.getTime() <= Date.now()) throw InvalidCredentials("the api key has expired");
    if (row.status !== "active") throw InvalidCredentials("the user of this api key is disabled");
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_PRECISION_MS) {
      await this.#options.db.kysely
        .updateTable("api_keys")
        .set({ last_used_at: new Date() })
        .where("id", "=", row.keyId)
        .execute();
    }
    const roles = await builtinRolesOf(this.#options.db.kysely, "user", row.id);
    const actor: Actor = {
      type: "user",
      id: row.id,
      name: row.username,
      authMethod: "user_psk",
      orgId: row.org_id,
      email: row.email,
      fullName: row.display_name,
      roles: roles.map((r) => r.name),
      permissions: new Set(roles.flatMap((r) => r.permissions)),
      realmRoles: roles.map((r) => r.name),
      clientRoles: [],
    };
    return actor;
  }

  /** `Authorization: Basic base64(clientId:secret)` of a service account. */
  fromBasic(encoded: string): Actor | Promise<Actor> {
    const key = `b:${hashSecret(encoded)}`;
    return this.#cache.get(key) ?? this.#verifyBasic(encoded, key);
  }

  async #verifyBasic(encoded: string, cacheKey: string): Promise<Actor> {
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 1) throw InvalidCredentials("basic credentials must be `client id:secret` in base64");
    const clientId = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    const row = await this.#options.db.kysely
      .selectFrom("service_accounts")
      .where("client_id", "=", clientId)
      .selectAll()
      .executeTakeFirst();
    const matches = secretMatches(secret, row?.secret_hash ?? hashSecret("absent"));
    if (!row || !matches) throw InvalidCredentials("the service account credentials are not valid");
    if (row.disabled) throw InvalidCredentials("the service account is disabled");
    const permissions = await permissionsOfRoles(this.#options.db.kysely, row.roles);
    const actor: Actor = {
      type: "service_account",
      id: row.id,
      name: row.name,
      authMethod: "service_account",
      orgId: row.org_id,
      email: null,
      fullName: null,
      roles: row.roles,
      permissions: new Set(permissions),
      realmRoles: row.roles,
      clientRoles: [],
    };
    this.#cache.set(cacheKey, actor);
    return actor;
  }

  /** `Authorization: Bearer <JWT>` from the configured OIDC issuer. */
  fromBearer(token: string): Actor | Promise<Actor> {
    const oidc = this.#options.oidc;
    if (!oidc) throw TokenInvalid("bearer tokens are not accepted: no oidc issuer is configured");
    const key = `t:${hashSecret(token)}`;
    return this.#cache.get(key) ?? this.#verifyBearer(token, key);
  }

  async #verifyBearer(token: string, cacheKey: string): Promise<Actor> {
    const claims = await this.verifyToken(token);
    const actor = await this.actorOfToken(claims);
    // Never past the token's own expiry.
    this.#cache.set(cacheKey, actor, claims.expiresAt ?? undefined);
    return actor;
  }

  /**
   * Verifies an access token exactly as `Authorization: Bearer` does (issuer, audience, signature,
   * expiry) and returns its claims; the console's OIDC sign-in uses it so a signed-in user is
   * whoever the same token would be as a bearer token.
   */
  async verifyToken(token: string): Promise<VerifiedToken> {
    const oidc = this.#options.oidc;
    if (!oidc) throw TokenInvalid("bearer tokens are not accepted: no oidc issuer is configured");
    try {
      return await oidc.verify(token);
    } catch (err) {
      throw TokenInvalid(`the bearer token is invalid: ${tokenFailure(err)}`, { cause: err });
    }
  }

  /** The actor of verified token claims: token roles mapped to built-in roles (`roleMapping`). */
  async actorOfToken(claims: VerifiedToken): Promise<Actor> {
    const roles = this.#mapTokenRoles([...claims.realmRoles, ...claims.clientRoles]);
    return {
      type: "token",
      id: claims.sub,
      name: claims.username,
      authMethod: "keycloak_token",
      orgId: null,
      email: claims.email,
      fullName: claims.fullName,
      roles,
      permissions: new Set(await permissionsOfRoles(this.#options.db.kysely, roles)),
      realmRoles: claims.realmRoles,
      clientRoles: claims.clientRoles,
    };
  }

  /**
   * The `gatehouse_session` cookie of the admin console: the actor of the credential that opened
   * the session, checked again on every verification (a revoked API key, a disabled user or a
   * changed general PSK ends the session), while the session is neither revoked, past its
   * lifetime, nor idle longer than `sessionIdleSeconds`.
   */
  fromSession(secret: string): Actor | Promise<Actor> {
    const key = `s:${hashSecret(secret)}`;
    return this.#cache.get(key) ?? this.#verifySession(secret, key);
  }

  async #verifySession(secret: string, cacheKey: string): Promise<Actor> {
    const kysely = this.#options.db.kysely;
    const session = await findSession(kysely, hashSecret(secret));
    const now = Date.now();
    const idleMs = (this.#options.sessionIdleSeconds ?? 3600) * 1000;
    if (!session || session.revokedAt) throw sessionEnded("the console session has ended");
    if (session.expiresAt.getTime() <= now) throw sessionEnded("the console session has expired");
    if (session.lastSeenAt.getTime() + idleMs <= now) throw sessionEnded("the console session has expired (idle)");
    let actor: Actor;
    if (session.authMethod === "general_psk") {
      if (session.credentialId !== this.generalPskFingerprint) {
        throw sessionEnded("the general psk that opened the console session has changed");
      }
      actor = GENERAL_PSK_ACTOR;
    } else if (session.authMethod === "user_psk") {
      const row = session.apiKeyId ? await this.#apiKeyRow("id", session.apiKeyId) : undefined;
      if (!row) throw sessionEnded("the api key that opened the console session no longer exists");
      try {
        actor = await this.#apiKeyActor(row);
      } catch (err) {
        throw sessionEnded(`the api key that opened the console session is no longer valid: ${(err as Error).message}`);
      }
    } else {
      actor = await this.actorOfToken(session.tokenClaims as unknown as VerifiedToken);
    }
    if (now - session.lastSeenAt.getTime() > LAST_USED_PRECISION_MS) await touchSession(kysely, session.id);
    this.#cache.set(cacheKey, actor, Math.min(session.expiresAt.getTime(), now + idleMs));
    return actor;
  }

  #mapTokenRoles(tokenRoles: string[]): string[] {
    const builtin = new Set(this.#options.builtinRoleNames);
    const mapped = new Set<string>();
    for (const role of tokenRoles) {
      if (builtin.has(role)) mapped.add(role);
      for (const target of this.#options.roleMapping[role] ?? []) mapped.add(target);
    }
    return [...mapped];
  }
}

function sessionEnded(reason: string): Error {
  return Unauthenticated(`${reason}: sign in again`);
}

function tokenFailure(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "it has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return `claim \`${(err as { claim?: string }).claim}\` failed validation`;
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the signature does not verify";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no key of the issuer matches it";
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return "it is not a well-formed jwt";
    default:
      return code ? code.toLowerCase() : "the issuer could not be reached";
  }
}
