import { generateKeyPairSync, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

/** A signing key in JWK form, as oidc-provider expects it. */
export function newSigningKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), use: "sig", alg: "RS256" };
}

/** Roles the provider puts in tokens, in Keycloak's layout. */
export interface TokenRoles {
  realm: string[];
  client: string[];
}

/**
 * A browser client (authorization code with PKCE) and the one user who signs in through it: the
 * provider's login and consent pages are skipped (the user is signed in as soon as the browser
 * reaches the interaction page), so a test follows the redirects with fetch.
 */
export interface BrowserClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  user: { accountId: string; username: string; email: string; name: string; roles: TokenRoles };
}

/** A running OIDC provider on a loopback port. */
export interface TestOidcProvider {
  issuer: string;
  audience: string;
  clientId: string;
  /** Gets an access token (JWT) with the client-credentials grant, as a service would. */
  token(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts a real OIDC provider (npm `oidc-provider`) issuing JWT access tokens through the
 * client-credentials grant, with Keycloak-style role claims, so bearer authentication is tested
 * against real discovery, JWKS and signatures rather than a bypass.
 */
export async function startOidcProvider(opts: {
  roles: TokenRoles;
  keys?: Record<string, unknown>[];
  port?: number;
  audience?: string;
  /** Also register a browser client and its user (the console's OIDC sign-in). */
  browserClient?: BrowserClient;
}): Promise<TestOidcProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const audience = opts.audience ?? "gatehouse";
  const clientId = "gatehouse-cli";
  const clientSecret = "a-client-secret-for-tests";
  const browser = opts.browserClient;
  const resource = "urn:gatehouse";
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
      },
      ...(browser
        ? [
            {
              client_id: browser.clientId,
              client_secret: browser.clientSecret,
              grant_types: ["authorization_code"],
              redirect_uris: [browser.redirectUri],
              response_types: ["code" as const],
            },
          ]
        : []),
    ],
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({
        sub,
        ...(browser && sub === browser.user.accountId
          ? { preferred_username: browser.user.username, email: browser.user.email, name: browser.user.name }
          : {}),
      }),
    }),
    claims: { openid: ["sub"], email: ["email"], profile: ["name", "preferred_username"] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The browser client's consent is given in advance, as a first-party client's would be.
    loadExistingGrant: async (ctx) => {
      const oidc = ctx.oidc;
      const accountId = oidc.session?.accountId;
      if (!oidc.client || !accountId) return undefined;
      const existing = oidc.session?.grantIdFor(oidc.client.clientId);
      if (existing) return oidc.provider.Grant.find(existing);
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId });
      grant.addOIDCScope("openid profile email");
      grant.addResourceScope(resource, "");
      await grant.save();
      return grant;
    },
    jwks: { keys: (opts.keys ?? [newSigningKey()]) as never },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: "", audience, accessTokenFormat: "jwt", accessTokenTTL: 300 }),
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const user = browser && "accountId" in token && token.accountId === browser.user.accountId ? browser.user : null;
      return user
        ? {
            preferred_username: user.username,
            email: user.email,
            name: user.name,
            realm_access: { roles: user.roles.realm },
            resource_access: { [audience]: { roles: user.roles.client } },
          }
        : {
            preferred_username: `service-account-${clientId}`,
            email: "svc@example.test",
            name: "Service Account",
            realm_access: { roles: opts.roles.realm },
            resource_access: { [audience]: { roles: opts.roles.client } },
          };
    },
  });
  const callback = provider.callback();
  server.on("request", (req, res) => {
    // The login page: the browser client's user is signed in at once (no form to fill in).
    if (browser && req.url?.startsWith("/interaction/")) {
      provider
        .interactionFinished(
          req,
          res,
          { login: { accountId: browser.user.accountId } },
          { mergeWithLastSubmission: false },
        )
        .catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      return;
    }
    callback(req, res);
  });
  return {
    issuer,
    audience,
    clientId,
    async token() {
      const response = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          connection: "close",
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        },
        body: "grant_type=client_credentials",
      });
      const body = (await response.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`token request failed: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
