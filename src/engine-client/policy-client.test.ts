import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { createEngine } from "../engine/index.ts";
import { seedTaggedService } from "../tags/test-seed.ts";
import { PolicyClient } from "./policy-client.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

/** `fetch` answered by the test app in process (`inject`), so the client speaks real HTTP semantics. */
function injectFetch(app: TestApp, seen: { url: string; body: string }[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.request({
      method: "GET",
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
    });
    seen.push({ url: url.pathname + url.search, body: res.statusCode === 304 ? "" : res.body });
    return new Response(res.statusCode === 304 ? null : res.body, { status: res.statusCode });
  }) as typeof fetch;
}

describe(`policy client and resource-tag changes (${TEST_BACKEND})`, () => {
  it("applies a new ServiceTags download to its engine in place, deciding as an engine built from the downloads; a link change rebuilds", async () => {
    const s = await seedTaggedService(t);
    const client = await new PolicyClient({
      serverUrl: "http://gatehouse.test",
      serviceName: s.service,
      pollIntervalMs: 0,
      fetch: injectFetch(t),
    }).start();
    const engine = client.engine;
    const tables = ["orders", "invoices", "customers"];
    /** alice's select on each table by the client, checked against an engine built from fresh downloads. */
    const decisions = async () => {
      const sp = (await t.request({ method: "GET", url: `/service/plugins/policies/download/${s.service}` })).json();
      const tags = (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json();
      const fresh = createEngine({
        serviceName: sp.serviceName,
        serviceDef: sp.serviceDef,
        policies: sp.policies,
        serviceConfig: { raw: sp.serviceConfig },
        ...(sp.tagPolicies ? { tagPolicies: sp.tagPolicies } : {}),
        serviceTags: tags,
      });
      expect(client.tagVersion).toBe(tags.tagVersion);
      return Object.fromEntries(
        tables.map((table) => {
          const request = {
            resource: { elements: { catalog: "sales", schema: s.schema, table } },
            accessType: "select",
            user: s.alice,
            userGroups: [s.analysts],
          };
          const local = client.isAccessAllowed(request);
          const expected = fresh.isAccessAllowed(request);
          expect({ table, allowed: local.isAllowed, policyId: local.policyId }).toEqual({
            table,
            allowed: expected.isAllowed,
            policyId: expected.policyId,
          });
          return [table, local.isAllowed];
        }),
      );
    };
    const ok = async (method: "POST" | "DELETE" | "PATCH", url: string, payload?: object) => {
      const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    const tag = (table: string) =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type: s.pii }],
      });
    expect(await decisions()).toEqual({ orders: true, invoices: true, customers: true });

    const orders = await tag("orders");
    await tag("invoices");
    expect(await client.refresh()).toBe(true);
    expect(client.engine).toBe(engine);
    expect(await decisions()).toEqual({ orders: false, invoices: false, customers: true });

    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${orders.id}/tags/${s.pii}`);
    expect(await client.refresh()).toBe(true);
    expect(client.engine).toBe(engine);
    expect(await decisions()).toEqual({ orders: true, invoices: false, customers: true });

    // A policy delta and new tags in one poll: both applied in place.
    await ok("PATCH", `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`, { isEnabled: false });
    await tag("customers");
    expect(await client.refresh()).toBe(true);
    expect(client.engine).toBe(engine);
    expect(await decisions()).toEqual({ orders: true, invoices: true, customers: true });
    await ok("PATCH", `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`, { isEnabled: true });
    expect(await client.refresh()).toBe(true);
    expect(await decisions()).toEqual({ orders: true, invoices: false, customers: false });
    expect(client.engine).toBe(engine);

    // Unlinking the tag service drops the tag repository: the client rebuilds.
    await ok("PATCH", `/v1/services/${s.service}`, { tagService: null });
    expect(await client.refresh()).toBe(true);
    expect(client.engine).not.toBe(engine);
    expect(await decisions()).toEqual({ orders: true, invoices: true, customers: true });
  });
});

describe(`policy client and tag deltas (${TEST_BACKEND})`, () => {
  it("asks for tag deltas, applies them in place, and holds what a fresh download holds", async () => {
    const s = await seedTaggedService(t);
    const seen: { url: string; body: string }[] = [];
    const client = await new PolicyClient({
      serverUrl: "http://gatehouse.test",
      serviceName: s.service,
      pollIntervalMs: 0,
      fetch: injectFetch(t, seen),
    }).start();
    const engine = client.engine;
    const tables = ["orders", "invoices", "customers", "payments"];
    const ok = async (method: "POST" | "DELETE" | "PUT", url: string, payload?: object) => {
      const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    const tag = (table: string, level = "high") =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type: s.pii, attributes: { level } }],
      });
    /** Polls, then checks the client against a fresh download: the tag answer it got, document, decisions. */
    const pollAndCompare = async () => {
      seen.length = 0;
      expect(await client.refresh()).toBe(true);
      const answer = seen.find((x) => x.url.startsWith("/service/tags/download/"));
      expect(answer?.url).toContain("supportsTagDeltas=true");
      const sp = (await t.request({ method: "GET", url: `/service/plugins/policies/download/${s.service}` })).json();
      const tags = (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json();
      const fresh = createEngine({
        serviceName: sp.serviceName,
        serviceDef: sp.serviceDef,
        policies: sp.policies,
        serviceConfig: { raw: sp.serviceConfig },
        ...(sp.tagPolicies ? { tagPolicies: sp.tagPolicies } : {}),
        serviceTags: tags,
      });
      const { tagDefinitions: _held, ...held } = client.serviceTags ?? {};
      const { tagDefinitions: _fresh, ...want } = tags;
      expect(held).toEqual(want);
      expect(client.engine).toBe(engine);
      for (const table of tables) {
        const request = {
          resource: { elements: { catalog: "sales", schema: s.schema, table } },
          accessType: "select",
          user: s.alice,
          userGroups: [s.analysts],
        };
        const local = client.isAccessAllowed(request);
        const expected = fresh.isAccessAllowed(request);
        expect({ table, allowed: local.isAllowed, policyId: local.policyId }).toEqual({
          table,
          allowed: expected.isAllowed,
          policyId: expected.policyId,
        });
      }
      return JSON.parse(answer?.body || "{}") as { isDelta?: boolean };
    };

    const orders = await tag("orders");
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    await tag("invoices");
    await tag("orders", "low");
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${orders.id}`);
    await tag("customers");
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      op: "replace",
      tags: { "1": { type: s.pii } },
      serviceResources: [{ id: 1, resourceElements: s.table("payments") }],
      resourceToTagIds: { "1": [1] },
    });
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    // A change no delta reproduces (elements changed in place): the whole document, applied as its difference.
    const guid = (await t.request({ method: "GET", url: `/v1/services/${s.service}/tagged-resources` })).json().items[0]
      .guid;
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      tags: { "1": { type: s.pii } },
      serviceResources: [{ id: 1, guid, resourceElements: s.table("orders") }],
      resourceToTagIds: { "1": [1] },
    });
    expect(await pollAndCompare()).toMatchObject({ isDelta: false });
    expect(client.tagVersion).toBe(
      (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json().tagVersion,
    );
  });
});
