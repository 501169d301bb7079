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
}): Promise<TestOidcProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const audience = opts.audience ?? "gatehouse";
  const clientId = "gatehouse-cli";
  const clientSecret = "a-client-secret-for-tests";
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
      },
    ],
    jwks: { keys: (opts.keys ?? [newSigningKey()]) as never },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => "urn:gatehouse",
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: "", audience, accessTokenFormat: "jwt", accessTokenTTL: 300 }),
      },
    },
    extraTokenClaims: () => ({
      preferred_username: `service-account-${clientId}`,
      email: "svc@example.test",
      name: "Service Account",
      realm_access: { roles: opts.roles.realm },
      resource_access: { [audience]: { roles: opts.roles.client } },
    }),
  });
  server.on("request", provider.callback());
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
