import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindBuiltinRole, buildUser, uniqueName } from "../../test/support/factories.ts";
import { startOidcProvider, type TestOidcProvider } from "../../test/support/oidc-provider.ts";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { hashSecret } from "../auth/secrets.ts";
import { pruneConsoleSessions } from "./sessions.store.ts";

const REDIRECT_URI = "http://127.0.0.1:8080/v1/console/oidc/callback";
const CLIENT = "10.20.30.40"; // not a trusted proxy: the failure limiter counts it apart

let t: TestApp;
let provider: TestOidcProvider;
let consoleDir: string;
let orgId: string;

beforeAll(async () => {
  consoleDir = mkdtempSync(join(tmpdir(), "gatehouse-console-"));
  mkdirSync(join(consoleDir, "assets"));
  writeFileSync(
    join(consoleDir, "index.html"),
    '<!doctype html><div id="root"></div><script src="/console/assets/app-1a2b3c.js"></script>',
  );
  writeFileSync(join(consoleDir, "assets", "app-1a2b3c.js"), "console.log('console');");
  provider = await startOidcProvider({
    roles: { realm: [], client: [] },
    browserClient: {
      clientId: "gatehouse-console",
      clientSecret: "a-console-secret-for-tests",
      redirectUri: REDIRECT_URI,
      user: {
        accountId: "alice-sub",
        username: "alice",
        email: "alice@example.test",
        name: "Alice",
        roles: { realm: ["policy-admin"], client: [] },
      },
    },
  });
  t = await testApp({
    GATEHOUSE_CONSOLE_DIR: consoleDir,
    GATEHOUSE_OIDC_ISSUER: provider.issuer,
    GATEHOUSE_OIDC_AUDIENCE: provider.audience,
    GATEHOUSE_CONSOLE_OIDC_CLIENT_ID: "gatehouse-console",
    GATEHOUSE_CONSOLE_OIDC_CLIENT_SECRET: "a-console-secret-for-tests",
    GATEHOUSE_CONSOLE_OIDC_REDIRECT_URI: REDIRECT_URI,
    GATEHOUSE_TRUSTED_PROXIES: "127.0.0.1",
    GATEHOUSE_AUTH_FAILURE_LIMIT: "3",
  });
  orgId = (await t.db.kysely.selectFrom("orgs").where("name", "=", "default").select("id").executeTakeFirstOrThrow())
    .id;
});

afterAll(async () => {
  await t?.app.close();
  await provider?.close();
  rmSync(consoleDir, { recursive: true, force: true });
});

/** A request as the browser sends it: the session cookie, no credential header. */
function browser(cookie: string | null, options: InjectOptions): Promise<LightMyRequestResponse> {
  const headers = { ...(options.headers as Record<string, string>), ...(cookie ? { cookie } : {}) };
  return t.app.inject({ ...options, headers });
}

/** `name=value` of a Set-Cookie header named `name`, and the header itself. */
function cookieOf(res: LightMyRequestResponse, name: string): { pair: string; header: string } {
  const all = res.headers["set-cookie"];
  const header = (Array.isArray(all) ? all : [all ?? ""]).find((c) => c.startsWith(`${name}=`));
  if (!header) throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`);
  return { pair: header.split(";")[0] ?? "", header };
}

async function signIn(key: string): Promise<{ cookie: string; csrf: string; body: Record<string, unknown> }> {
  const res = await browser(null, { method: "POST", url: "/v1/console/session", payload: { key } });
  expect(res.statusCode, res.body).toBe(200);
  return { cookie: cookieOf(res, "gatehouse_session").pair, csrf: res.json().csrfToken, body: res.json() };
}

async function apiKeyFor(role: string): Promise<{ key: string; keyId: string }> {
  const user = await buildUser(t.db);
  await bindBuiltinRole(t.db, user.id, user.org_id, role);
  const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: "console" } });
  expect(res.statusCode).toBe(201);
  return { key: res.json().key, keyId: res.json().id };
}

const newGroup = () => ({ method: "POST" as const, url: "/v1/groups", payload: { orgId, name: uniqueName("g") } });

describe("console sessions", () => {
  it("exchanges the general PSK for a cookie that works on API routes, with CSRF on writes, until sign-out", async () => {
    const res = await browser(null, {
      method: "POST",
      url: "/v1/console/session",
      payload: { key: TEST_PSK },
      headers: { "x-forwarded-proto": "https" },
    });
    expect(res.statusCode).toBe(200);
    const { header, pair } = cookieOf(res, "gatehouse_session");
    expect(header).toMatch(/; Max-Age=28800/);
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Secure/); // the request came over TLS (through the trusted proxy)
    expect(header).not.toContain(TEST_PSK);
    const body = res.json();
    expect(body.actor.actor).toMatchObject({ type: "psk", authMethod: "general_psk" });
    expect(body.actor.permissions).toEqual(["*"]);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(8 * 3600_000 - 60_000);
    // the session row keeps no key, only a fingerprint
    const row = await t.db.kysely.selectFrom("console_sessions").where("id", "is not", null).selectAll().execute();
    expect(JSON.stringify(row)).not.toContain(TEST_PSK);

    // over plain http, no Secure flag
    const plain = await signIn(TEST_PSK);
    expect(plain.cookie).toMatch(/^gatehouse_session=ghs_/);
    const current = await browser(pair, { method: "GET", url: "/v1/console/session" });
    expect(current.statusCode).toBe(200);
    expect(current.json().csrfToken).toBe(body.csrfToken);
    expect(current.json().expiresAt).toBe(body.expiresAt);

    const whoami = await browser(pair, { method: "GET", url: "/v1/whoami" });
    expect(whoami.statusCode).toBe(200);
    expect(whoami.json().actor.authMethod).toBe("general_psk");

    const noCsrf = await browser(pair, newGroup());
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().code).toBe("CSRF_TOKEN_INVALID");
    expect(noCsrf.json().message).toMatch(/X-CSRF-Token/);
    const wrongCsrf = await browser(pair, { ...newGroup(), headers: { "x-csrf-token": plain.csrf } });
    expect(wrongCsrf.statusCode).toBe(403);
    expect(wrongCsrf.json().code).toBe("CSRF_TOKEN_INVALID");
    const withCsrf = await browser(pair, { ...newGroup(), headers: { "x-csrf-token": body.csrfToken } });
    expect(withCsrf.statusCode).toBe(201);
    // a credential header is judged alone, as before: no CSRF token needed
    const withHeader = await browser(pair, { ...newGroup(), headers: { "authorization-psk": TEST_PSK } });
    expect(withHeader.statusCode).toBe(201);
    const wrongHeader = await browser(pair, {
      method: "GET",
      url: "/v1/whoami",
      headers: { "authorization-psk": "not-the-psk-000000" },
    });
    expect(wrongHeader.statusCode).toBe(401);

    const signOutNoCsrf = await browser(pair, { method: "DELETE", url: "/v1/console/session" });
    expect(signOutNoCsrf.statusCode).toBe(403);
    const signOut = await browser(pair, {
      method: "DELETE",
      url: "/v1/console/session",
      headers: { "x-csrf-token": body.csrfToken },
    });
    expect(signOut.statusCode).toBe(204);
    expect(cookieOf(signOut, "gatehouse_session").header).toMatch(/Max-Age=0/);
    const after = await browser(pair, { method: "GET", url: "/v1/whoami" });
    expect(after.statusCode).toBe(401);
    expect(after.json().message).toMatch(/session has ended/);
    expect((await browser(pair, { method: "GET", url: "/v1/console/session" })).statusCode).toBe(401);
    // the other session is untouched
    expect((await browser(plain.cookie, { method: "GET", url: "/v1/whoami" })).statusCode).toBe(200);

    const sessionId = (
      await t.db.kysely
        .selectFrom("console_sessions")
        .where("revoked_at", "is not", null)
        .select("id")
        .orderBy("revoked_at", "desc")
        .executeTakeFirstOrThrow()
    ).id;
    const events = await t.db.kysely
      .selectFrom("audit_events")
      .where("target_id", "=", sessionId)
      .select(["action", "actor_name", "auth_method"])
      .orderBy("id")
      .execute();
    expect(events).toEqual([
      { action: "console_session.created", actor_name: "psk", auth_method: "general_psk" },
      { action: "console_session.revoked", actor_name: "psk", auth_method: "general_psk" },
    ]);
  });

  it("gives an API key's session the key's abilities, and ends it when the key is revoked", async () => {
    const viewer = await apiKeyFor("viewer");
    const session = await signIn(viewer.key);
    const body = session.body as { actor: { actor: { authMethod: string }; roles: string[] } };
    expect(body.actor.actor.authMethod).toBe("user_psk");
    expect(body.actor.roles).toEqual(["viewer"]);
    const read = await browser(session.cookie, { method: "GET", url: `/v1/groups?orgId=${orgId}&limit=1` });
    expect(read.statusCode, read.body).toBe(200);
    const write = await browser(session.cookie, { ...newGroup(), headers: { "x-csrf-token": session.csrf } });
    expect(write.statusCode).toBe(403);
    expect(write.json().code).toBe("FORBIDDEN");

    const writer = await apiKeyFor("directory-admin");
    const writerSession = await signIn(writer.key);
    const created = await browser(writerSession.cookie, {
      ...newGroup(),
      headers: { "x-csrf-token": writerSession.csrf },
    });
    expect(created.statusCode).toBe(201);

    const revoked = await t.request({ method: "DELETE", url: `/v1/api-keys/${viewer.keyId}` });
    expect(revoked.statusCode).toBe(204);
    const after = await browser(session.cookie, { method: "GET", url: "/v1/whoami" });
    expect(after.statusCode).toBe(401);
    expect(after.json().message).toMatch(/api key that opened the console session is no longer valid/);
  });

  it("refuses a bad key with 401 and counts it towards the lockout", async () => {
    const attempt = (key: string) =>
      t.app.inject({ method: "POST", url: "/v1/console/session", payload: { key }, remoteAddress: CLIENT });
    const bad = await attempt("not-the-general-psk");
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe("INVALID_CREDENTIALS");
    expect(bad.headers["set-cookie"]).toBeUndefined();
    expect((await attempt("ghk_nope_nope")).statusCode).toBe(401);
    expect((await attempt("not-the-general-psk")).statusCode).toBe(401);
    const locked = await attempt("not-the-general-psk");
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe("TOO_MANY_AUTH_FAILURES");
    const empty = await attempt("");
    expect(empty.statusCode).toBe(400);
  });

  it("ends a session past its lifetime or idle for too long", async () => {
    const expired = await signIn(TEST_PSK);
    const idle = await signIn(TEST_PSK);
    const hashOf = async (cookie: string) => hashSecret(cookie.split("=")[1] ?? "");
    await t.db.kysely
      .updateTable("console_sessions")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("secret_hash", "=", await hashOf(expired.cookie))
      .execute();
    await t.db.kysely
      .updateTable("console_sessions")
      .set({ last_seen_at: new Date(Date.now() - 3601_000) })
      .where("secret_hash", "=", await hashOf(idle.cookie))
      .execute();
    const a = await browser(expired.cookie, { method: "GET", url: "/v1/whoami" });
    expect(a.statusCode).toBe(401);
    expect(a.json().message).toMatch(/session has expired: sign in again/);
    const b = await browser(idle.cookie, { method: "GET", url: "/v1/whoami" });
    expect(b.statusCode).toBe(401);
    expect(b.json().message).toMatch(/expired \(idle\)/);
    expect((await browser("gatehouse_session=ghs_forged", { method: "GET", url: "/v1/whoami" })).statusCode).toBe(401);

    // housekeeping removes sessions a day after they ended
    const expiredHash = await hashOf(expired.cookie);
    await t.db.kysely
      .updateTable("console_sessions")
      .set({ expires_at: new Date(Date.now() - 25 * 3600_000) })
      .where("secret_hash", "=", expiredHash)
      .execute();
    expect(await pruneConsoleSessions(t.db.kysely)).toBeGreaterThanOrEqual(1);
    const left = await t.db.kysely
      .selectFrom("console_sessions")
      .where("secret_hash", "=", expiredHash)
      .select("id")
      .execute();
    expect(left).toEqual([]);
    expect((await browser(idle.cookie, { method: "GET", url: "/v1/console/session" })).statusCode).toBe(401);
  });
});

/** Follows the issuer's redirects as a browser would (cookies per host) until it sends us back. */
async function throughIssuer(start: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(REDIRECT_URI)) return url;
    const res = await fetch(url, {
      redirect: "manual",
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "), connection: "close" },
    });
    for (const set of res.headers.getSetCookie()) {
      const [pair = ""] = set.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(set)) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1));
    }
    const location = res.headers.get("location");
    if (!location) throw new Error(`the issuer stopped at ${url}: ${res.status} ${await res.text()}`);
    url = new URL(location, url).href;
  }
  throw new Error("too many redirects");
}

describe("console OIDC sign-in", () => {
  it("tells the sign-in page that OIDC is available", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/console/config" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      oidc: { enabled: true, loginPath: "/v1/console/oidc/login" },
      session: { lifetimeSeconds: 28800, idleTimeoutSeconds: 3600 },
    });
  });

  it("signs in through the issuer with PKCE and maps the identity as a bearer token's", async () => {
    const login = await t.app.inject({
      method: "GET",
      url: `/v1/console/oidc/login?returnTo=${encodeURIComponent("/console/policies?service=trino#top")}`,
    });
    expect(login.statusCode).toBe(302);
    const authorize = new URL(login.headers.location as string);
    expect(authorize.origin).toBe(provider.issuer);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get("state")).toBeTruthy();
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    expect(authorize.searchParams.get("redirect_uri")).toBe(REDIRECT_URI);
    const state = cookieOf(login, "gatehouse_oidc_state");
    expect(state.header).toMatch(/HttpOnly/);
    expect(state.header).toMatch(/SameSite=Lax/);

    const back = new URL(await throughIssuer(authorize.href));
    const callbackPath = back.pathname + back.search;
    // without the state cookie (another browser): refused
    const foreign = await t.app.inject({ method: "GET", url: callbackPath });
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().code).toBe("OIDC_SIGN_IN_FAILED");
    const callback = await t.app.inject({ method: "GET", url: callbackPath, headers: { cookie: state.pair } });
    expect(callback.statusCode, callback.body).toBe(302);
    expect(callback.headers.location).toBe("/console/policies?service=trino#top");
    const session = cookieOf(callback, "gatehouse_session");
    expect(session.header).toMatch(/HttpOnly; SameSite=Strict/);

    const current = await browser(session.pair, { method: "GET", url: "/v1/console/session" });
    expect(current.statusCode).toBe(200);
    expect(current.json().actor.actor).toMatchObject({
      type: "token",
      id: "alice-sub",
      name: "alice",
      authMethod: "keycloak_token",
      email: "alice@example.test",
    });
    expect(current.json().actor.roles).toEqual(["policy-admin"]);
    expect(current.json().actor.permissions).toContain("policy.write");
    const keys = await browser(session.pair, { method: "GET", url: "/v1/api-keys" });
    expect(keys.statusCode).toBe(403); // a policy administrator, nothing more

    // the code and the state are used once
    const replay = await t.app.inject({ method: "GET", url: callbackPath, headers: { cookie: state.pair } });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().message).toMatch(/expired or was already completed/);
  });

  it("refuses a returnTo outside this server (no open redirect)", async () => {
    for (const returnTo of [
      "https://evil.example/",
      "//evil.example/x",
      "/\\evil.example",
      "console",
      "/\r\nLocation:x",
      "javascript:alert(1)",
    ]) {
      const res = await t.app.inject({
        method: "GET",
        url: `/v1/console/oidc/login?returnTo=${encodeURIComponent(returnTo)}`,
      });
      expect(res.statusCode, returnTo).toBe(400);
      expect(res.json().details[0]).toMatchObject({ field: "query.returnTo", rule: "sameOriginPath" });
    }
  });

  it("reports the issuer's refusal", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/v1/console/oidc/callback?error=access_denied&state=x&authuser=0",
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toMatch(/access_denied/);
  });
});

describe("console files", () => {
  it("redirects / to the console and serves index.html for client-side routes, with security headers", async () => {
    const root = await t.app.inject({ method: "GET", url: "/" });
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe("/console/");
    expect((await t.app.inject({ method: "GET", url: "/console" })).headers.location).toBe("/console/");
    for (const url of ["/console/", "/console/groups/123?tab=members", "/console/policies/trino/7"]) {
      const page = await t.app.inject({ method: "GET", url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers["content-type"]).toMatch(/text\/html/);
      expect(page.body).toContain('<div id="root">');
      expect(page.headers["cache-control"]).toBe("no-cache");
      expect(page.headers["content-security-policy"]).toMatch(/script-src 'self';.*frame-ancestors 'none'/);
      expect(page.headers["x-frame-options"]).toBe("DENY");
      expect(page.headers["referrer-policy"]).toBe("same-origin");
    }
    const asset = await t.app.inject({ method: "GET", url: "/console/assets/app-1a2b3c.js" });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["content-type"]).toMatch(/javascript/);
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect((await t.app.inject({ method: "GET", url: "/console/assets/gone-000.js" })).statusCode).toBe(404);
    const traversal = await t.app.inject({ method: "GET", url: "/console/..%2f..%2fpackage.json" });
    expect(traversal.body).not.toContain('"name"');
  });

  it("answers 503 naming the build command while the console is not built", async () => {
    renameSync(join(consoleDir, "index.html"), join(consoleDir, "index.html.away"));
    try {
      const json = await t.app.inject({ method: "GET", url: "/console/groups" });
      expect(json.statusCode).toBe(503);
      expect(json.json().code).toBe("CONSOLE_NOT_BUILT");
      expect(json.json().message).toMatch(/npm run build:console/);
      const html = await t.app.inject({ method: "GET", url: "/console/", headers: { accept: "text/html" } });
      expect(html.statusCode).toBe(503);
      expect(html.body).toMatch(/<h1>The Gatehouse console was not built<\/h1>/);
      expect((await t.app.inject({ method: "GET", url: "/v1/console/config" })).statusCode).toBe(200);
    } finally {
      renameSync(join(consoleDir, "index.html.away"), join(consoleDir, "index.html"));
    }
  });
});
