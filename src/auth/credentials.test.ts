import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../test/support/credentials.ts";
import { bindBuiltinRole, buildUser } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { BUILTIN_ROLES } from "./abilities.ts";
import { Authenticator } from "./authenticator.ts";
import { CredentialCache } from "./credential-cache.ts";
import { hashSecret } from "./secrets.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.app.close());

async function issueKey(userId: string, extra: Record<string, unknown> = {}) {
  const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId, name: "ci", ...extra } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; key: string; prefix: string };
}

describe("general PSK", () => {
  it("authenticates as the full administrator (Nx1 general_psk)", async () => {
    const res = await t.request({ method: "GET", url: "/api/identity/whoami" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ auth_method: "general_psk", preferred_username: "psk", sub: "psk" });
  });

  it("rejects a wrong key with 401 and a challenge", async () => {
    const res = await t.request({
      method: "GET",
      url: "/api/identity/whoami",
      headers: { "authorization-psk": "wrong-key-000000000000" },
      remoteAddress: "10.1.0.1",
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe("INVALID_CREDENTIALS");
    expect(res.headers["www-authenticate"]).toContain("Authorization-PSK");
  });

  it("answers 401 without credentials", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/identity/whoami" });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe("UNAUTHENTICATED");
  });
});

describe("API keys (user_psk)", () => {
  it("is shown once, authenticates as its user with the user's roles, and is stored only as a hash", async () => {
    const user = await buildUser(t.db);
    await bindBuiltinRole(t.db, user.id, user.org_id, "auditor");
    const created = await issueKey(user.id);
    expect(created.key).toMatch(/^ghk_/);
    const who = await t.request({
      method: "GET",
      url: "/api/identity/whoami",
      headers: { "authorization-psk": created.key },
    });
    expect(who.json()).toMatchObject({
      auth_method: "user_psk",
      sub: user.id,
      preferred_username: user.username,
      roles: ["auditor"],
    });
    const stored = await t.db.kysely
      .selectFrom("api_keys")
      .where("id", "=", created.id)
      .selectAll()
      .executeTakeFirstOrThrow();
    // The secret is everything after `ghk_<prefix>_` (base64url, so it may itself contain `_`).
    const secret = created.key.slice(`ghk_${stored.prefix}_`.length);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(stored)).not.toContain(secret);
    const list = await t.request({ method: "GET", url: `/v1/api-keys?userId=${user.id}` });
    expect(list.json().total).toBe(1);
    expect(JSON.stringify(list.json())).not.toContain(created.key);
  });

  it("stops working when revoked, and the revocation is audited", async () => {
    const user = await buildUser(t.db);
    const created = await issueKey(user.id);
    const revoke = await t.request({ method: "DELETE", url: `/v1/api-keys/${created.id}` });
    expect(revoke.statusCode).toBe(204);
    const who = await t.request({
      method: "GET",
      url: "/v1/whoami",
      headers: { "authorization-psk": created.key },
      remoteAddress: "10.1.0.2",
    });
    expect(who.statusCode).toBe(401);
    const audit = await t.request({ method: "GET", url: `/v1/audit/events?targetId=${created.id}` });
    expect(audit.json().items.map((e: { action: string }) => e.action)).toEqual(["api_key.revoked", "api_key.created"]);
  });

  it("refuses an expiry in the past, naming the field", async () => {
    const user = await buildUser(t.db);
    const res = await t.request({
      method: "POST",
      url: "/v1/api-keys",
      payload: { userId: user.id, name: "x", expiresAt: "2001-01-01T00:00:00Z" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0]).toMatchObject({ field: "body.expiresAt", rule: "future" });
  });

  it("stops working after its expiry and when its user is disabled", async () => {
    const user = await buildUser(t.db);
    const created = await issueKey(user.id, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await t.db.kysely
      .updateTable("api_keys")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("id", "=", created.id)
      .execute();
    const expired = await t.request({
      method: "GET",
      url: "/v1/whoami",
      headers: { "authorization-psk": created.key },
      remoteAddress: "10.1.0.3",
    });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().message).toMatch(/expired/);
    const other = await issueKey(user.id);
    await t.db.kysely.updateTable("users").set({ status: "disabled" }).where("id", "=", user.id).execute();
    const disabled = await t.request({
      method: "GET",
      url: "/v1/whoami",
      headers: { "authorization-psk": other.key },
      remoteAddress: "10.1.0.3",
    });
    expect(disabled.statusCode).toBe(401);
    expect(disabled.json().message).toMatch(/disabled/);
  });

  it("names an unknown user", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/api-keys",
      payload: { userId: "00000000-0000-4000-8000-000000000000", name: "x" },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: "USER_NOT_FOUND" });
    expect(res.json().message).toMatch(/body.userId/);
  });
});

describe("service accounts (Basic)", () => {
  it("authenticate with client id and secret and hold their built-in roles", async () => {
    const headers = await serviceAccountHeaders(t, ["policy-admin"]);
    const who = await t.request({ method: "GET", url: "/v1/whoami", headers });
    expect(who.statusCode).toBe(200);
    expect(who.json()).toMatchObject({
      actor: { type: "service_account", authMethod: "service_account" },
      roles: ["policy-admin"],
    });
    const forbidden = await t.request({ method: "GET", url: "/v1/service-accounts", headers });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().code).toBe("FORBIDDEN");
  });

  it("rotating the secret invalidates the old one", async () => {
    const created = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      payload: { name: `rot-${Date.now()}`, roles: ["viewer"] },
    });
    const { id, clientId, clientSecret } = created.json();
    const rotated = await t.request({ method: "POST", url: `/v1/service-accounts/${id}/secret` });
    expect(rotated.statusCode).toBe(200);
    const basic = (secret: string) => ({
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
    });
    expect(
      (await t.request({ method: "GET", url: "/v1/whoami", headers: basic(clientSecret), remoteAddress: "10.1.0.4" }))
        .statusCode,
    ).toBe(401);
    expect(
      (await t.request({ method: "GET", url: "/v1/whoami", headers: basic(rotated.json().clientSecret) })).statusCode,
    ).toBe(200);
  });

  it("refuses unknown roles and duplicate names, naming the field", async () => {
    const bad = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      payload: { name: "x", roles: ["root"] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].field).toBe("body.roles[0]");
    const name = `dup-${Date.now()}`;
    await t.request({ method: "POST", url: "/v1/service-accounts", payload: { name, roles: [] } });
    const dup = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      payload: { name: name.toUpperCase(), roles: [] },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: "SERVICE_ACCOUNT_NAME_TAKEN", meta: { existingId: expect.any(String) } });
  });
});

describe("failed-authentication rate limit", () => {
  it("answers 429 with Retry-After once an address has failed too often, even with a good key", async () => {
    const limited = await testApp({ GATEHOUSE_AUTH_FAILURE_LIMIT: "3" });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await limited.request({
          method: "GET",
          url: "/v1/whoami",
          headers: { "authorization-psk": "bad-key-00000000000" },
          remoteAddress: "10.2.0.1",
        });
        expect(res.statusCode).toBe(401);
      }
      const blocked = await limited.request({ method: "GET", url: "/v1/whoami", remoteAddress: "10.2.0.1" });
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
      const elsewhere = await limited.request({ method: "GET", url: "/v1/whoami", remoteAddress: "10.2.0.2" });
      expect(elsewhere.statusCode).toBe(200);
    } finally {
      await limited.app.close();
    }
  });
});

describe("verified credentials are cached briefly and forgotten on every change", () => {
  const whoami = (headers: Record<string, string>, remoteAddress = "10.3.0.1") =>
    t.request({ method: "GET", url: "/v1/whoami", headers, remoteAddress });

  it("a key in use stops working as soon as it is revoked", async () => {
    const user = await buildUser(t.db);
    const created = await issueKey(user.id);
    const headers = { "authorization-psk": created.key };
    expect((await whoami(headers)).statusCode).toBe(200);
    expect((await whoami(headers)).statusCode).toBe(200);
    expect((await t.request({ method: "DELETE", url: `/v1/api-keys/${created.id}` })).statusCode).toBe(204);
    expect((await whoami(headers)).statusCode).toBe(401);
  });

  it("a key in use stops working as soon as its user is disabled through the api", async () => {
    const user = await buildUser(t.db);
    const created = await issueKey(user.id);
    const headers = { "authorization-psk": created.key };
    expect((await whoami(headers)).statusCode).toBe(200);
    const disabled = await t.request({ method: "PATCH", url: `/v1/users/${user.id}`, payload: { status: "disabled" } });
    expect(disabled.statusCode).toBe(200);
    const after = await whoami(headers);
    expect(after.statusCode).toBe(401);
    expect(after.json().message).toMatch(/disabled/);
  });

  it("a service account in use loses its old secret as soon as the secret is rotated", async () => {
    const created = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      payload: { name: `cached-${Date.now()}`, roles: ["viewer"] },
    });
    const { id, clientId, clientSecret } = created.json();
    const headers = { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` };
    expect((await whoami(headers)).statusCode).toBe(200);
    const rotated = await t.request({ method: "POST", url: `/v1/service-accounts/${id}/secret` });
    expect(rotated.statusCode).toBe(200);
    expect((await whoami(headers, "10.3.0.2")).statusCode).toBe(401);
  });

  it("a change made elsewhere (another process) takes effect once the entry's lifetime ends", async () => {
    const user = await buildUser(t.db);
    const created = await issueKey(user.id);
    const authenticator = new Authenticator({
      db: t.db,
      generalPskHash: hashSecret("unused"),
      roleMapping: {},
      builtinRoleNames: BUILTIN_ROLES,
      cache: new CredentialCache({ ttlMs: 200 }),
    });
    expect((await authenticator.fromPsk(created.key)).id).toBe(user.id);
    // Revoked behind this process's back: no local write tells the cache.
    await t.db.kysely.updateTable("api_keys").set({ revoked_at: new Date() }).where("id", "=", created.id).execute();
    const cached = authenticator.fromPsk(created.key);
    expect(cached).not.toBeInstanceOf(Promise);
    expect((cached as { id: string }).id).toBe(user.id);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await expect(async () => authenticator.fromPsk(created.key)).rejects.toMatchObject({ code: "INVALID_CREDENTIALS" });
  });

  it("a wrong key is checked in full every time (never cached)", async () => {
    const authenticator = new Authenticator({
      db: t.db,
      generalPskHash: hashSecret("the-general-psk"),
      roleMapping: {},
      builtinRoleNames: BUILTIN_ROLES,
    });
    expect(() => authenticator.fromPsk("not-the-general-psk")).toThrow(/not valid/);
    expect(authenticator.fromPsk("the-general-psk")).toMatchObject({ type: "psk", authMethod: "general_psk" });
    await expect(async () => authenticator.fromPsk("ghk_nope_nope")).rejects.toMatchObject({
      code: "INVALID_CREDENTIALS",
    });
    await expect(async () => authenticator.fromPsk("ghk_nope_nope")).rejects.toMatchObject({
      code: "INVALID_CREDENTIALS",
    });
  });
});
