import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../test/support/credentials.ts";
import { bindBuiltinRole, buildUser } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { WRITE_ABILITIES } from "../auth/abilities.ts";

let t: TestApp;
let viewer: Record<string, string>;

beforeAll(async () => {
  t = await testApp();
  viewer = await serviceAccountHeaders(t, ["viewer"]);
  // Puppet RBAC routes read `X-Authentication` (a user's API key) instead of `Authorization`.
  const user = await buildUser(t.db);
  await bindBuiltinRole(t.db, user.id, user.org_id, "viewer");
  const key = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: "viewer" } });
  viewer["x-authentication"] = key.json().key;
});
afterAll(() => t.app.close());

interface WalkedRoute {
  method: string;
  url: string;
  ability: string;
}

/** Every registered route with its declared ability, one entry per method. */
function routes(): WalkedRoute[] {
  return t.app.routeCatalogue.flatMap((route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const ability = String((route.config as { ability?: string } | undefined)?.ability);
    return methods.filter((m) => m !== "HEAD").map((method) => ({ method, url: route.url, ability }));
  });
}

/** A concrete URL for a route pattern: ids become random UUIDs, other parameters `x`. */
function concrete(url: string): string {
  return url
    .replaceAll("::", "\u0000")
    .replace(/:(\w+)/g, (_m, name: string) => (/id$/i.test(name) ? randomUUID() : "x"))
    .replaceAll("\u0000", ":")
    .replace("*", "x");
}

describe("every route declares its ability", () => {
  it("has routes to walk", () => {
    expect(routes().length).toBeGreaterThan(10);
  });

  it("answers 401 with WWW-Authenticate to a request without credentials on every non-public route", async () => {
    const failures: string[] = [];
    for (const route of routes().filter((r) => r.ability !== "public")) {
      const res = await t.app.inject({
        method: route.method as "GET",
        url: concrete(route.url),
        remoteAddress: "10.9.0.1",
      });
      if (res.statusCode !== 401 || !res.headers["www-authenticate"]) {
        failures.push(`${route.method} ${route.url}: ${res.statusCode}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers 403 to a viewer on every write", async () => {
    const failures: string[] = [];
    const writes = routes().filter((r) => WRITE_ABILITIES.has(r.ability as never));
    expect(writes.length).toBeGreaterThan(3);
    for (const route of writes) {
      const res = await t.app.inject({
        method: route.method as "POST",
        url: concrete(route.url),
        headers: { ...viewer, "content-type": "application/json" },
        payload: "{}",
      });
      if (res.statusCode !== 403) failures.push(`${route.method} ${route.url}: ${res.statusCode}`);
    }
    expect(failures).toEqual([]);
  });

  it("declares a write ability on every method that changes state, except reads that use POST", async () => {
    const readAbilities = new Set(["decision.check", "authenticated"]);
    /** POST routes that only read: previews and searches whose input is too large for a query string. */
    const readOnlyPosts = new Set([
      "/api/govern/data-access/policies/bulk/parse",
      // VMware Aria searches an auth source's groups with POST; it only reads the directory.
      "/suite-api/api/auth/sources/:id/usergroups/search",
    ]);
    const undeclared = routes().filter(
      (r) =>
        ["POST", "PUT", "PATCH", "DELETE"].includes(r.method) &&
        r.ability !== "public" &&
        !WRITE_ABILITIES.has(r.ability as never) &&
        !readAbilities.has(r.ability) &&
        !readOnlyPosts.has(r.url),
    );
    expect(undeclared.map((r) => `${r.method} ${r.url} (${r.ability})`)).toEqual([]);
  });
});
