import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedTaggedService } from "../tags/test-seed.ts";
import { type LiveEngine, LiveEngines } from "./live-engines.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

type Seeded = Awaited<ReturnType<typeof seedTaggedService>>;

/** alice's select on each table by `live`'s engine: allowed and deciding policy. */
function decisions(s: Seeded, live: LiveEngine, tables: readonly string[]) {
  return tables.map((table) => {
    const r = live.engine.isAccessAllowed({
      resource: { elements: { catalog: "sales", schema: s.schema, table } },
      accessType: "select",
      user: s.alice,
      userGroups: [s.analysts],
    });
    return { table, allowed: r.isAllowed, policyId: r.policyId };
  });
}

describe(`resource-tag changes reach live engines without a rebuild (${TEST_BACKEND})`, () => {
  it("tagging and untagging through the API flip the decision while the engine keeps its build; relinking rebuilds it", async () => {
    const s = await seedTaggedService(t);
    const engine = async () => {
      const res = await t.request({ method: "GET", url: `/v1/services/${s.service}/engine` });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { builtAt: string; updatedAt: string | null; builds: number };
    };
    expect((await s.decide("orders")).allowed).toBe(true);
    const built = await engine();
    const tagUpdates = t.app.decisions.engines.stats.tagUpdates;

    const tagged = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/tagged-resources`,
      payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii }] },
    });
    expect(tagged.statusCode, tagged.body).toBe(201);
    expect(await s.decide("orders")).toMatchObject({ allowed: false, policyId: s.tagPolicy.id });
    const afterTag = await engine();
    expect(afterTag).toMatchObject({ builtAt: built.builtAt, builds: built.builds });
    expect(afterTag.updatedAt).not.toBeNull();

    const untag = await t.request({
      method: "DELETE",
      url: `/v1/services/${s.service}/tagged-resources/${tagged.json().id}/tags/${s.pii}`,
    });
    expect(untag.statusCode).toBe(204);
    expect(await s.decide("orders")).toMatchObject({ allowed: true, policyId: s.policy.id });
    expect(await engine()).toMatchObject({ builtAt: built.builtAt, builds: built.builds });
    expect(t.app.decisions.engines.stats.tagUpdates).toBeGreaterThanOrEqual(tagUpdates + 2);

    // A link change still rebuilds: the engine takes its tag policies from the linked service.
    const unlink = await t.request({
      method: "PATCH",
      url: `/v1/services/${s.service}`,
      payload: { tagService: null },
    });
    expect(unlink.statusCode, unlink.body).toBe(200);
    expect((await s.decide("orders")).allowed).toBe(true);
    const relinked = await engine();
    expect(relinked.builds).toBeGreaterThan(built.builds);
    expect(relinked.builtAt >= built.builtAt).toBe(true);
    expect(relinked.updatedAt).toBeNull();
  });

  it("an engine updated in place through tag, untag, import and a policy change decides as a fresh build does", async () => {
    const s = await seedTaggedService(t);
    const tables = ["orders", "invoices", "customers", "payments"] as const;
    const mine = new LiveEngines(t.db);
    const live = await mine.get(s.service);
    const ok = async (method: "POST" | "PUT" | "DELETE" | "PATCH", url: string, payload?: object) => {
      const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    /** Refreshes `mine`, checks it kept its build, and compares with an engine built now. */
    const sameAsFresh = async () => {
      expect(await mine.refresh(s.service)).toBe(live);
      expect(mine.stats.builds).toBe(1);
      const fresh = await new LiveEngines(t.db).get(s.service);
      expect(live.tagVersion).toBe(fresh.tagVersion);
      expect(live.version).toBe(fresh.version);
      expect(live.serviceTags).toEqual(fresh.serviceTags);
      const now = decisions(s, live, tables);
      expect(now).toEqual(decisions(s, fresh, tables));
      return Object.fromEntries(now.map((d) => [d.table, d.allowed]));
    };
    const tag = (table: string, type = s.pii) =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type }],
      });

    const orders = await tag("orders");
    expect(await sameAsFresh()).toEqual({ orders: false, invoices: true, customers: true, payments: true });
    await tag("invoices");
    const other = uniqueName("OTHER");
    await ok("POST", "/v1/tag-defs", { name: other });
    await tag("payments", other);
    expect(await sameAsFresh()).toEqual({ orders: false, invoices: false, customers: true, payments: true });
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${orders.id}/tags/${s.pii}`);
    expect(await sameAsFresh()).toEqual({ orders: true, invoices: false, customers: true, payments: true });
    expect(mine.stats.tagUpdates).toBe(3);

    // Ranger's bulk import with `replace` removes every tagged resource of the service and adds
    // the listed ones, in one tag version.
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      op: "replace",
      tags: { "1": { type: s.pii } },
      serviceResources: [{ id: 1, resourceElements: s.table("customers") }],
      resourceToTagIds: { "1": [1] },
    });
    expect(await sameAsFresh()).toEqual({ orders: true, invoices: true, customers: false, payments: true });

    // A policy change and a tag change caught up in one refresh: a delta batch and a tag update.
    await ok("PATCH", `/v1/services/${s.service}/policies/${s.policy.id}`, {
      resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["orders"] } },
    });
    await tag("orders");
    const batches = mine.stats.deltaBatches;
    expect(await sameAsFresh()).toEqual({ orders: false, invoices: false, customers: false, payments: false });
    expect(mine.stats).toMatchObject({ builds: 1, deltaBatches: batches + 1, tagUpdates: 5 });

    // A link change rebuilds.
    await ok("PATCH", `/v1/services/${s.service}`, { tagService: null });
    const rebuilt = await mine.refresh(s.service);
    expect(rebuilt).not.toBe(live);
    expect(mine.stats.builds).toBe(2);
  });
});
