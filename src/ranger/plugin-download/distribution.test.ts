import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { seedService } from "../../decisions/test-seed.ts";
import { createEngine } from "../../engine/index.ts";
import type { RangerAccessRequest, RangerAccessResult } from "../../engine/types.ts";
import { PolicyClient } from "../../engine-client/index.ts";
import { seedTaggedService } from "../../tags/test-seed.ts";

let t: TestApp;

interface AskedDecision {
  user: string;
  resource: Record<string, string>;
  accessType: string;
}

/**
 * Asks the server for `requests` in one batch and each local engine for the same requests (groups
 * from `groupsOf`), expecting the same `allowed` and `policyId` for every one; returns the first
 * engine's results in request order.
 */
async function expectSameAsServer(
  service: string,
  requests: AskedDecision[],
  groupsOf: Map<string, string[]>,
  engines: { isAccessAllowed(request: RangerAccessRequest): RangerAccessResult }[],
): Promise<RangerAccessResult[]> {
  const server = (
    await t.request({ method: "POST", url: "/v1/decisions:batch", payload: { service, requests } })
  ).json();
  return requests.map((r, i) => {
    const request = {
      resource: { elements: r.resource },
      accessType: r.accessType,
      user: r.user,
      userGroups: groupsOf.get(r.user) ?? [],
    };
    const expected = { i, allowed: server.results[i].allowed, policyId: server.results[i].policyId };
    const results = engines.map((engine) => engine.isAccessAllowed(request));
    for (const local of results) expect({ i, allowed: local.isAllowed, policyId: local.policyId }).toEqual(expected);
    return results[0] as RangerAccessResult;
  });
}

/** `fetch` served by the test app's `inject`, so the client runs unchanged against it. */
function injectFetch(app: TestApp, seen: { url: string; status: number; body: string }[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.request({
      method: "GET",
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
    });
    seen.push({ url: url.pathname + url.search, status: res.statusCode, body: res.body });
    return new Response(res.statusCode === 304 ? null : res.body, { status: res.statusCode });
  }) as typeof fetch;
}

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

describe(`policy distribution (${TEST_BACKEND})`, () => {
  it("serves ServicePolicies, 304 when current and deltas after a change; a client engine built from the downloads decides as the server", async () => {
    const service = uniqueName("svc");
    const post = async (url: string, payload: unknown) => {
      const res = await t.request({ method: "POST", url, payload: payload as Record<string, unknown> });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json();
    };
    await post("/v1/services", { name: service, type: "trino" });
    const parent = await post("/v1/groups", { name: uniqueName("eng") });
    const child = await post("/v1/groups", { name: uniqueName("data"), parentId: parent.id });
    const users: { id: string; username: string }[] = [];
    for (let i = 0; i < 4; i++) users.push(await post("/v1/users", { username: uniqueName(`u${i}`) }));
    await t.request({ method: "PUT", url: `/v1/groups/${child.id}/members/${users[0].id}` });
    await t.request({ method: "PUT", url: `/v1/groups/${parent.id}/members/${users[1].id}` });
    const readers = await post("/v1/roles", { name: uniqueName("readers") });
    const leads = await post("/v1/roles", { name: uniqueName("leads"), composites: [readers.id] });
    await post("/v1/role-bindings", { roleId: leads.id, principal: { type: "user", id: users[2].id } });
    await post("/v1/role-bindings", { roleId: readers.id, principal: { type: "group", id: child.id } });

    const schemas = [uniqueName("s"), uniqueName("s")];
    const pol = (name: string, schema: string, table: string, extra: Record<string, unknown>) =>
      post(`/v1/services/${service}/policies`, {
        name,
        resources: { catalog: { values: ["c"] }, schema: { values: [schema] }, table: { values: [table] } },
        ...extra,
      });
    const p1 = await pol("parent-all", schemas[0], "*", {
      policyItems: [{ groups: [parent.name], accesses: [{ type: "select" }, { type: "insert" }] }],
    });
    await pol("readers-t1", schemas[1], "t1", {
      policyItems: [{ roles: [readers.name], accesses: [{ type: "select" }] }],
    });
    await pol("deny-u0-secret", schemas[0], "secret", {
      denyPolicyItems: [{ users: [users[0].username], accesses: [{ type: "select" }] }],
      policyItems: [{ users: [users[3].username], accesses: [{ type: "select" }] }],
    });

    const seen: { url: string; status: number; body: string }[] = [];
    const client = await new PolicyClient({
      serverUrl: "http://gatehouse.test",
      serviceName: service,
      pollIntervalMs: 0,
      pluginId: "test-plugin@host",
      fetch: injectFetch(t, seen),
    }).start();
    expect(JSON.parse(seen[1]?.body ?? "{}")).toMatchObject({ serviceName: service, policyVersion: 3 });
    expect(JSON.parse(seen[1]?.body ?? "{}").policies).toHaveLength(3);
    // Ranger roles are global: on a shared database another test file may change them meanwhile,
    // so refresh until a round finds nothing new; that round's three downloads are all 304
    let changed = await client.refresh();
    for (let round = 0; changed && round < 10; round++) changed = await client.refresh();
    expect(changed).toBe(false);
    expect(seen.slice(-3).map((s) => s.status)).toEqual([304, 304, 304]);

    const plugins = (await t.request({ method: "GET", url: `/v1/services/${service}/plugins` })).json();
    expect(plugins.items.map((p: { kind: string; status: number }) => `${p.kind}:${p.status}`).sort()).toEqual([
      "policies:304",
      "roles:304",
      "tags:304",
    ]);

    const groupsOf = new Map<string, string[]>();
    for (const u of users) {
      groupsOf.set(u.username, (await t.app.decisions.principals.byId(u.id))?.groups ?? []);
    }
    const compare = async () => {
      const requests = [];
      for (const u of users)
        for (const schema of schemas)
          for (const table of ["t1", "secret", "other"])
            for (const accessType of ["select", "insert", "delete"])
              requests.push({ user: u.username, resource: { catalog: "c", schema, table }, accessType });
      const results = await expectSameAsServer(service, requests, groupsOf, [client]);
      return results.filter((r) => r.isAllowed).length;
    };
    expect(await compare()).toBeGreaterThan(3);

    const upd = await t.request({
      method: "PATCH",
      url: `/v1/services/${service}/policies/${p1.id}`,
      payload: { policyItems: [{ groups: [child.name], accesses: [{ type: "select" }, { type: "delete" }] }] },
    });
    expect(upd.statusCode).toBe(200);
    const before = seen.length;
    expect(await client.refresh()).toBe(true);
    const delta = JSON.parse(seen.slice(before).find((s) => s.url.includes("/plugins/policies/"))?.body ?? "{}");
    expect(delta.policyDeltas).toHaveLength(1);
    expect(delta.policies).toBeUndefined();
    expect(client.policyVersion).toBe(4);
    await compare();

    const full = await t.request({
      method: "GET",
      url: `/service/plugins/secure/policies/download/${service}?lastKnownVersion=1`,
    });
    expect(full.json().policies).toHaveLength(3);
    const tags = await t.request({ method: "GET", url: `/service/tags/download/${service}?lastKnownVersion=-1` });
    expect(tags.json()).toMatchObject({ serviceName: service, tagVersion: 0 });
    const missing = await t.request({ method: "GET", url: "/service/plugins/policies/download/no-such-service" });
    expect(missing.statusCode).toBe(404);
  });
});

describe(`tag distribution (${TEST_BACKEND})`, () => {
  it("a client engine built only from the downloads (policies, tagPolicies, ServiceTags) decides as the server, through tag changes", async () => {
    const s = await seedTaggedService(t);
    const tagOn = async (table: string, tags: Record<string, unknown>[]) => {
      const res = await t.request({
        method: "POST",
        url: `/v1/services/${s.service}/tagged-resources`,
        payload: { resourceElements: s.table(table), tags },
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json();
    };
    // A second tag type allowing bob to insert into what carries it.
    const finance = uniqueName("FINANCE");
    await t.request({ method: "POST", url: "/v1/tag-defs", payload: { name: finance } });
    const allowFinance = (
      await t.request({
        method: "POST",
        url: `/v1/services/${s.tagService}/policies`,
        payload: {
          name: uniqueName("finance-insert"),
          resources: { tag: { values: [finance] } },
          policyItems: [{ users: [s.bob], accesses: [{ type: "trino:insert" }] }],
        },
      })
    ).json();
    const orders = await tagOn("orders", [{ type: s.pii, attributes: { level: "high" } }]);
    await tagOn("payments", [{ type: s.pii }, { type: finance }]);

    const seen: { url: string; status: number; body: string }[] = [];
    const client = await new PolicyClient({
      serverUrl: "http://gatehouse.test",
      serviceName: s.service,
      pollIntervalMs: 0,
      fetch: injectFetch(t, seen),
    }).start();
    const groupsOf = new Map([
      [s.alice, [s.analysts]],
      [s.bob, []],
    ]);
    /** Server and both local engines (the client's, and one built here from raw downloads) agree on every request. */
    const compare = async () => {
      const full = await t.request({ method: "GET", url: `/service/plugins/policies/download/${s.service}` });
      const tags = await t.request({ method: "GET", url: `/service/tags/download/${s.service}` });
      const sp = full.json();
      expect(sp.tagPolicies).toMatchObject({ serviceName: s.tagService, serviceDef: { name: "tag" } });
      const raw = createEngine({
        serviceName: sp.serviceName,
        serviceDef: sp.serviceDef,
        policies: sp.policies,
        serviceConfig: { raw: sp.serviceConfig },
        tagPolicies: sp.tagPolicies,
        serviceTags: tags.json(),
      });
      const requests = [];
      for (const user of [s.alice, s.bob])
        for (const table of ["orders", "payments", "invoices"])
          for (const accessType of ["select", "insert"])
            requests.push({ user, resource: { catalog: "sales", schema: s.schema, table }, accessType });
      const results = await expectSameAsServer(s.service, requests, groupsOf, [client, raw]);
      const deciding = new Set(results.map((r) => r.policyId));
      return deciding;
    };
    const first = await compare();
    expect(first.has(s.tagPolicy.id)).toBe(true);
    expect(first.has(allowFinance.id)).toBe(true);

    // A tag policy change travels as a delta of the service; the client applies it in place.
    const upd = await t.request({
      method: "PATCH",
      url: `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`,
      payload: {
        denyPolicyItems: [{ groups: [s.analysts], accesses: [{ type: "trino:select" }] }],
        conditions: [],
        policyItems: [],
        isEnabled: false,
      },
    });
    expect(upd.statusCode, upd.body).toBe(200);
    const before = seen.length;
    expect(await client.refresh()).toBe(true);
    const delta = JSON.parse(seen.slice(before).find((x) => x.url.includes("/plugins/policies/"))?.body ?? "{}");
    expect(delta.policyDeltas).toMatchObject([{ policy: { id: s.tagPolicy.id, serviceType: "tag" } }]);
    expect((await compare()).has(s.tagPolicy.id)).toBe(false);

    // Untagging changes the ServiceTags the client downloads.
    await t.request({
      method: "PATCH",
      url: `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`,
      payload: { isEnabled: true },
    });
    await t.request({
      method: "DELETE",
      url: `/v1/services/${s.service}/tagged-resources/${orders.id}/tags/${s.pii}`,
    });
    expect(await client.refresh()).toBe(true);
    expect(client.tagVersion).toBe(3);
    const last = await compare();
    expect(last.has(s.tagPolicy.id)).toBe(true);
    expect(await client.refresh()).toBe(false);
  });

  it("a client engine built only from the downloads decides as the server with security zones, through zone policy deltas, zone changes and a policy moving zones", async () => {
    const s = await seedService(t);
    const ok = async (method: "POST" | "PATCH", url: string, payload: Record<string, unknown>) => {
      const res = await t.request({ method, url, payload });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json();
    };
    const other = uniqueName("other");
    const otherPolicy = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName("other"),
      resources: { catalog: { values: ["sales"] }, schema: { values: [other] }, table: { values: ["*"] } },
      policyItems: [{ users: [s.alice, s.bob], accesses: [{ type: "select" }] }],
    });
    const zone = uniqueName("fin");
    await ok("POST", "/v1/zones", {
      name: zone,
      services: { [s.service]: { resources: [{ catalog: ["sales"], schema: [s.schema] }] } },
    });
    const zonePolicy = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName("fin-bob"),
      zoneName: zone,
      resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["orders"] } },
      policyItems: [{ users: [s.bob], accesses: [{ type: "select" }, { type: "insert" }] }],
    });

    const seen: { url: string; status: number; body: string }[] = [];
    const client = await new PolicyClient({
      serverUrl: "http://gatehouse.test",
      serviceName: s.service,
      pollIntervalMs: 0,
      fetch: injectFetch(t, seen),
    }).start();
    const groupsOf = new Map([
      [s.alice, [s.analysts]],
      [s.bob, []],
    ]);
    /** Server, the client's engine and an engine built here from a raw full download agree on every request. */
    const compare = async () => {
      const sp = (await t.request({ method: "GET", url: `/service/plugins/policies/download/${s.service}` })).json();
      const raw = createEngine({
        serviceName: sp.serviceName,
        serviceDef: sp.serviceDef,
        policies: sp.policies,
        securityZones: sp.securityZones,
        serviceConfig: { raw: sp.serviceConfig },
      });
      const requests = [];
      for (const user of [s.alice, s.bob])
        for (const schema of [s.schema, other])
          for (const table of ["orders", "invoices"])
            for (const accessType of ["select", "insert"])
              requests.push({ user, resource: { catalog: "sales", schema, table }, accessType });
      const results = await expectSameAsServer(s.service, requests, groupsOf, [client, raw]);
      const deciding = new Set(results.filter((r) => r.isAllowed).map((r) => r.policyId));
      return { sp, deciding };
    };

    // Ranger's form: the zone policy under securityZones, not in the top-level list.
    const first = await compare();
    expect(first.sp.securityZones).toEqual({
      [zone]: {
        zoneName: zone,
        resources: [{ catalog: ["sales"], schema: [s.schema] }],
        containsAssociatedTagService: false,
        policies: [expect.objectContaining({ id: zonePolicy.id, zoneName: zone })],
      },
    });
    expect(first.sp.policies.map((p: { id: number }) => p.id).sort()).toEqual([s.policy.id, otherPolicy.id].sort());
    // The default-zone grant of the analysts on the zone's schema no longer applies there.
    expect([...first.deciding].sort()).toEqual([zonePolicy.id, otherPolicy.id].sort());

    // A zone policy change travels as a delta under its zone; the client applies it in place.
    await ok("PATCH", `/v1/services/${s.service}/policies/${zonePolicy.id}`, {
      policyItems: [{ users: [s.bob, s.alice], accesses: [{ type: "select" }] }],
    });
    let before = seen.length;
    expect(await client.refresh()).toBe(true);
    const delta = JSON.parse(seen.slice(before).find((x) => x.url.includes("/plugins/policies/"))?.body ?? "{}");
    expect(delta.policyDeltas).toEqual([]);
    expect(delta.securityZones[zone].policyDeltas).toMatchObject([{ changeType: 1, policy: { id: zonePolicy.id } }]);
    expect((await compare()).deciding.has(zonePolicy.id)).toBe(true);

    // Widening the zone to the whole catalog reaches the client as a full download.
    await ok("PATCH", `/v1/zones/${zone}`, { services: { [s.service]: { resources: [{ catalog: ["sales"] }] } } });
    before = seen.length;
    expect(await client.refresh()).toBe(true);
    const widened = JSON.parse(seen.slice(before).find((x) => x.url.includes("/plugins/policies/"))?.body ?? "{}");
    expect(widened.policyDeltas).toBeUndefined();
    expect(widened.securityZones[zone].resources).toEqual([{ catalog: ["sales"] }]);
    expect([...(await compare()).deciding]).toEqual([zonePolicy.id]);

    // Moving the policy out of the zone (a delta between zones): the client rebuilds and agrees.
    await ok("PATCH", `/v1/services/${s.service}/policies/${zonePolicy.id}`, { zoneName: "" });
    expect(await client.refresh()).toBe(true);
    expect((await compare()).deciding.size).toBe(0);
    expect(await client.refresh()).toBe(false);
  });
});
