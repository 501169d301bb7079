import type { Actor } from "../auth/actor.ts";
import { CredentialCache } from "../auth/credential-cache.ts";
import { hashSecret, secretMatches } from "../auth/secrets.ts";
import { InvalidCredentials } from "../errors.ts";
import { type CredentialReader, nativeCredentials } from "../http/authentication.ts";
import type { Db } from "../storage/db.ts";
import { SCIM_TOKEN_PREFIX } from "./clients.service.ts";

/** What a 401 from a SCIM route offers (RFC 7644 §2: OAuth bearer tokens). */
export const SCIM_CHALLENGE = 'Bearer realm="gatehouse-scim"';

const LAST_USED_PRECISION_MS = 60_000;
/** A SCIM client may read and write the directory of its organisation, nothing else. */
const SCIM_PERMISSIONS: ReadonlySet<string> = new Set(["directory.read", "directory.write"]);

/**
 * Verifies SCIM bearer tokens (`Authorization: Bearer ghs_<prefix>_<secret>`) against the hashed
 * `scim_clients` rows, as API keys are verified (src/auth/authenticator.ts): constant-time
 * comparison, a hash computed even for unknown prefixes, a few seconds of cache for verified
 * tokens. `forget()` drops the cache after a revocation in this process.
 */
export class ScimTokens {
  readonly #db: Db;
  readonly #cache = new CredentialCache();

  constructor(db: Db) {
    this.#db = db;
  }

  /** Forgets every verified token (after a revocation). */
  forget(): void {
    this.#cache.clear();
  }

  /**
   * The credential reader of the SCIM routes: a SCIM client token (`Bearer ghs_...`); any other
   * credential is read as on native routes, so it is authenticated and its abilities checked
   * (a viewer gets 403), and the handlers then refuse every caller that is not a SCIM client.
   */
  readonly reader: CredentialReader = (request, authenticator) => {
    const authorization = request.headers.authorization;
    const match = typeof authorization === "string" ? /^bearer\s+(ghs_\S+)\s*$/i.exec(authorization.trim()) : null;
    if (!match) return nativeCredentials(request, authenticator);
    const token = match[1] as string;
    const key = hashSecret(token);
    return this.#cache.get(key) ?? this.#verify(token, key);
  };

  async #verify(token: string, cacheKey: string): Promise<Actor> {
    const parts = token.split("_");
    const prefix = parts[0] === SCIM_TOKEN_PREFIX ? (parts[1] ?? "") : "";
    const row = await this.#db.kysely
      .selectFrom("scim_clients")
      .where("prefix", "=", prefix)
      .selectAll()
      .executeTakeFirst();
    const matches = secretMatches(token, row?.secret_hash ?? hashSecret("absent"));
    if (!row || !matches) throw InvalidCredentials("the scim client token is not valid");
    if (row.revoked_at) throw InvalidCredentials("the scim client token has been revoked");
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_PRECISION_MS) {
      await this.#db.kysely
        .updateTable("scim_clients")
        .set({ last_used_at: new Date() })
        .where("id", "=", row.id)
        .execute();
    }
    const actor: Actor = {
      type: "scim_client",
      id: row.id,
      name: row.name,
      authMethod: "scim_token",
      orgId: row.org_id,
      email: null,
      fullName: null,
      roles: [],
      permissions: SCIM_PERMISSIONS,
      realmRoles: [],
      clientRoles: [],
    };
    this.#cache.set(cacheKey, actor);
    return actor;
  }
}
