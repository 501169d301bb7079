import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";

/** Claims Gatehouse reads from a verified token (Keycloak's layout). */
export interface VerifiedToken {
  sub: string;
  username: string;
  email: string | null;
  fullName: string | null;
  realmRoles: string[];
  clientRoles: string[];
  /** When the token expires (epoch ms, from `exp`), or null when it carries no expiry. */
  expiresAt: number | null;
}

/** Settings of the token verifier. */
export interface OidcOptions {
  issuer: string;
  audience: string;
  /** Client whose `resource_access.<client>.roles` are the client roles; defaults to the audience. */
  clientId?: string | undefined;
  /** Minimum time between JWKS refetches triggered by unknown key ids (default 30 s). */
  cooldownMs?: number;
}

type Jwks = ReturnType<typeof createRemoteJWKSet>;

/**
 * Verifies bearer tokens against an OIDC issuer: keys come from the JWKS named in the discovery
 * document, cached by jose and refetched when a token names an unknown key id (key rotation).
 * Signature, issuer, audience, expiry and not-before are all checked.
 */
export class OidcVerifier {
  readonly #options: OidcOptions;
  #jwks: Promise<Jwks> | undefined;

  constructor(options: OidcOptions) {
    this.#options = options;
  }

  /** Resolves the verified claims, or rejects with a reason fit for a 401 message. */
  async verify(token: string): Promise<VerifiedToken> {
    const jwks = await this.#keySet();
    const { payload } = await jwtVerify(token, jwks, {
      issuer: this.#options.issuer,
      audience: this.#options.audience,
      clockTolerance: 5,
    });
    return this.#claims(payload);
  }

  #keySet(): Promise<Jwks> {
    this.#jwks ??= discover(this.#options.issuer, this.#options.cooldownMs ?? 30_000).catch((err) => {
      this.#jwks = undefined; // try discovery again on the next request
      throw err;
    });
    return this.#jwks;
  }

  #claims(payload: JWTPayload): VerifiedToken {
    const clientId = this.#options.clientId ?? this.#options.audience;
    const realm = (payload.realm_access as { roles?: unknown } | undefined)?.roles;
    const resourceAccess = payload.resource_access as Record<string, { roles?: unknown }> | undefined;
    const client = resourceAccess?.[clientId]?.roles;
    const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v) => typeof v === "string") : []);
    const text = (value: unknown) => (typeof value === "string" ? value : null);
    return {
      sub: payload.sub ?? "",
      username: text(payload.preferred_username) ?? text(payload.client_id) ?? payload.sub ?? "",
      email: text(payload.email),
      fullName: text(payload.name),
      realmRoles: strings(realm),
      clientRoles: strings(client),
      expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : null,
    };
  }
}

async function discover(issuer: string, cooldownMs: number): Promise<Jwks> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`oidc discovery at ${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: string; jwks_uri?: string };
  if (!document.jwks_uri) throw new Error(`oidc discovery at ${url} has no jwks_uri`);
  return createRemoteJWKSet(new URL(document.jwks_uri), { cacheMaxAge: 10 * 60_000, cooldownDuration: cooldownMs });
}
