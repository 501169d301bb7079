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
function injectFetch(app: TestApp): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.request({
      method: "GET",
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
    });
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
