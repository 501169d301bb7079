import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSigningKey, startOidcProvider, type TestOidcProvider } from "../../test/support/oidc-provider.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { OidcVerifier } from "./oidc.ts";

let provider: TestOidcProvider;
let t: TestApp;

beforeAll(async () => {
  provider = await startOidcProvider({ roles: { realm: ["offline_access", "policy-admin"], client: ["auditor"] } });
  t = await testApp({
    GATEHOUSE_OIDC_ISSUER: provider.issuer,
    GATEHOUSE_OIDC_AUDIENCE: provider.audience,
  });
});
afterAll(async () => {
  await t.app.close();
  await provider.close();
});

describe("bearer tokens from a real OIDC provider", () => {
  it("whoami returns the token's identity, realm roles and client roles", async () => {
    const token = await provider.token();
    const res = await t.request({
      method: "GET",
      url: "/api/identity/whoami",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      sub: provider.clientId,
      auth_method: "keycloak_token",
      preferred_username: `service-account-${provider.clientId}`,
      email: "svc@example.test",
      full_name: "Service Account",
      roles: ["offline_access", "policy-admin"],
      client_roles: ["auditor"],
    });
  });

  it("maps token roles named like built-in roles to Gatehouse permissions", async () => {
    const token = await provider.token();
    const res = await t.request({ method: "GET", url: "/v1/whoami", headers: { authorization: `Bearer ${token}` } });
    expect(res.json().roles.sort()).toEqual(["auditor", "policy-admin"]);
    expect(res.json().permissions).toContain("audit.read");
    const audit = await t.request({
      method: "GET",
      url: "/v1/audit/events?limit=1",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(audit.statusCode).toBe(200);
    const keys = await t.request({ method: "GET", url: "/v1/api-keys", headers: { authorization: `Bearer ${token}` } });
    expect(keys.statusCode).toBe(403);
  });

  it("rejects a tampered token with 401 naming the reason", async () => {
    const token = await provider.token();
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    claims.realm_access.roles.push("gatehouse-admin");
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    const res = await t.request({ method: "GET", url: "/v1/whoami", headers: { authorization: `Bearer ${forged}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe("TOKEN_INVALID");
    expect(res.json().message).toMatch(/signature/);
    expect(res.headers["www-authenticate"]).toMatch(/Bearer/);
  });

  it("rejects a token for another audience and garbage", async () => {
    const other = await startOidcProvider({ roles: { realm: ["gatehouse-admin"], client: [] }, audience: "other-api" });
    try {
      const wrongIssuer = await other.token();
      const res = await t.request({
        method: "GET",
        url: "/v1/whoami",
        headers: { authorization: `Bearer ${wrongIssuer}` },
      });
      expect(res.statusCode).toBe(401);
      const garbage = await t.request({
        method: "GET",
        url: "/v1/whoami",
        headers: { authorization: "Bearer abc.def" },
      });
      expect(garbage.statusCode).toBe(401);
      expect(garbage.json().message).toMatch(/well-formed|invalid/);
    } finally {
      await other.close();
    }
  });
});

describe("OidcVerifier", () => {
  it("follows a key rotation: a token signed by a new key verifies after the JWKS changes", async () => {
    const oldKey = newSigningKey();
    const first = await startOidcProvider({ roles: { realm: ["viewer"], client: [] }, keys: [oldKey] });
    const port = Number(new URL(first.issuer).port);
    const verifier = new OidcVerifier({ issuer: first.issuer, audience: first.audience, cooldownMs: 0 });
    expect((await verifier.verify(await first.token())).realmRoles).toEqual(["viewer"]);
    await first.close();
    const rotated = await startOidcProvider({
      roles: { realm: ["viewer"], client: [] },
      keys: [newSigningKey(), oldKey],
      port,
    });
    try {
      expect((await verifier.verify(await rotated.token())).realmRoles).toEqual(["viewer"]);
    } finally {
      await rotated.close();
    }
  });
});
