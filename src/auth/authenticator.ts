import { InvalidCredentials, TokenInvalid } from "../errors.ts";
import type { Db } from "../storage/db.ts";
import { type Actor, ANONYMOUS } from "./actor.ts";
import { builtinRolesOf, permissionsOfRoles } from "./credentials.store.ts";
import type { OidcVerifier } from "./oidc.ts";
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
}

/**
 * Turns credentials into an `Actor`. Each method returns the actor, or throws a 401 error naming
 * what was wrong with a credential that was presented; it never logs or echoes secrets.
 */
export class Authenticator {
  readonly #options: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
  }

  /** `Authorization-PSK`: the general PSK or a user's API key. */
  async fromPsk(presented: string): Promise<Actor> {
    if (presented.startsWith(`${API_KEY_PREFIX}_`)) return this.fromApiKey(presented);
    if (!secretMatches(presented, this.#options.generalPskHash)) {
      throw InvalidCredentials("the pre-shared key is not valid");
    }
    return {
      ...ANONYMOUS,
      type: "psk",
      id: "psk",
      name: "psk",
      authMethod: "general_psk",
      roles: ["gatehouse-admin"],
      permissions: new Set(["*"]),
    };
  }

  /** A per-user API key (`ghk_<prefix>_<secret>`): valid while not revoked, not expired and its user active. */
  async fromApiKey(presented: string): Promise<Actor> {
    const prefix = presented.split("_")[1] ?? "";
    const row = await this.#options.db.kysely
      .selectFrom("api_keys as k")
      .innerJoin("users as u", "u.id", "k.user_id")
      .where("k.prefix", "=", prefix)
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
    // Hash anyway when no row matched, so timing does not reveal which prefixes exist.
    const matches = secretMatches(presented, row?.secret_hash ?? hashSecret("absent"));
    if (!row || !matches || row.revoked_at) throw InvalidCredentials("the api key is not valid");
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
    return {
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
  }

  /** `Authorization: Basic base64(clientId:secret)` of a service account. */
  async fromBasic(encoded: string): Promise<Actor> {
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
    return {
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
  }

  /** `Authorization: Bearer <JWT>` from the configured OIDC issuer. */
  async fromBearer(token: string): Promise<Actor> {
    const oidc = this.#options.oidc;
    if (!oidc) throw TokenInvalid("bearer tokens are not accepted: no oidc issuer is configured");
    let claims: Awaited<ReturnType<OidcVerifier["verify"]>>;
    try {
      claims = await oidc.verify(token);
    } catch (err) {
      throw TokenInvalid(`the bearer token is invalid: ${tokenFailure(err)}`, { cause: err });
    }
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
