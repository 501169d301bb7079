import { randomUUID } from "node:crypto";
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

/**
 * The tags `live`'s engine gives alice's select on each table, and her any-access on the schema
 * (every table's tags, as DESCENDANT, in the engine's resource order): the order tags are
 * evaluated in, which a delta must leave as a fresh build has it.
 */
function tagsSeen(s: Seeded, live: LiveEngine, tables: readonly string[]) {
  const seen = (elements: Record<string, string>, accessType: string) =>
    live.engine.preProcess({ resource: { elements }, accessType, user: s.alice, userGroups: [s.analysts] }).tags ?? [];
  return {
    tables: tables.map((table) => seen({ catalog: "sales", schema: s.schema, table }, "select")),
    schema: seen({ catalog: "sales", schema: s.schema }, ""),
  };
}

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
      // The held document is the fresh one, but for definitions of tag types no longer used, which a
      // delta never takes away (Ranger's deltas add definitions only) and decisions never read.
      const { tagDefinitions: heldDefs, ...held } = live.heldTags.document;
      const { tagDefinitions: freshDefs, ...want } = fresh.heldTags.document;
      expect(held).toEqual(want);
      expect(heldDefs).toMatchObject(freshDefs ?? {});
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

describe(`live engines follow the tag change log (${TEST_BACKEND})`, () => {
  it("applies each change from the log (no whole read) and ends as a fresh build: tag, untag, delete, imports, shared-tag attributes, chains", async () => {
    const s = await seedTaggedService(t);
    const tables = ["orders", "invoices", "customers", "payments", "refunds", "ledger"] as const;
    const mine = new LiveEngines(t.db);
    const live = await mine.get(s.service);
    const ok = async (method: "POST" | "PUT" | "DELETE", url: string, payload?: object) => {
      const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    /** Refreshes `mine` and compares it with an engine built now: decisions, tag order, document. */
    const sameAsFresh = async (fullReads = 0) => {
      expect(await mine.refresh(s.service)).toBe(live);
      expect(mine.stats).toMatchObject({ builds: 1, tagFullReads: fullReads });
      const fresh = await new LiveEngines(t.db).get(s.service);
      expect(live.tagVersion).toBe(fresh.tagVersion);
      const { tagDefinitions: heldDefs, ...held } = live.heldTags.document;
      const { tagDefinitions: freshDefs, ...want } = fresh.heldTags.document;
      expect(held).toEqual(want);
      expect(heldDefs).toMatchObject(freshDefs ?? {});
      expect(tagsSeen(s, live, tables)).toEqual(tagsSeen(s, fresh, tables));
      const now = decisions(s, live, tables);
      expect(now).toEqual(decisions(s, fresh, tables));
      return Object.fromEntries(now.map((d) => [d.table, d.allowed]));
    };
    const tag = (table: string, tags: object[], ownerUser?: string) =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags,
        ...(ownerUser ? { ownerUser } : {}),
      });
    const pii = (level: string) => ({ type: s.pii, attributes: { level } });
    const other = uniqueName("OTHER");
    await ok("POST", "/v1/tag-defs", { name: other });

    // One change per refresh: tag (new resource), retag in place (attributes), owner change, untag.
    await tag("orders", [pii("high")]);
    expect(await sameAsFresh()).toMatchObject({ orders: false, invoices: true });
    await tag("orders", [pii("low")]);
    await sameAsFresh();
    await tag("orders", [pii("low")], "bob");
    await sameAsFresh();
    const invoices = await tag("invoices", [pii("high"), { type: other }]);
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${invoices.id}/tags/${s.pii}`);
    expect(await sameAsFresh()).toMatchObject({ orders: false, invoices: true });

    // A chain between two refreshes: new resources, an untag removing a resource, a delete.
    const payments = await tag("payments", [{ type: other }]);
    await tag("customers", [pii("high")]);
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${invoices.id}/tags/${other}`);
    await tag("refunds", [pii("low")]);
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${payments.id}`);
    await tag("payments", [pii("high")]);
    expect(await sameAsFresh()).toEqual({
      orders: false,
      invoices: true,
      customers: false,
      payments: false,
      refunds: false,
      ledger: true,
    });

    // A shared tag (an import with a guid on two resources), then its attributes changed.
    const shared = randomUUID();
    const importDoc = (level: string, op = "add_or_update") => ({
      serviceName: s.service,
      op,
      tags: { "1": { guid: shared, type: s.pii, attributes: { level } } },
      serviceResources: [
        { id: 1, resourceElements: s.table("ledger") },
        { id: 2, resourceElements: s.table("orders") },
      ],
      resourceToTagIds: { "1": [1], "2": [1] },
    });
    await ok("PUT", "/service/tags/importservicetags", importDoc("high"));
    await sameAsFresh();
    await ok("PUT", "/service/tags/importservicetags", importDoc("medium"));
    await sameAsFresh();
    // The same import again changes nothing (a version with a `none` entry).
    await ok("PUT", "/service/tags/importservicetags", importDoc("medium"));
    await sameAsFresh();
    // Deleting the shared tag takes it from both resources (they stay, untagged).
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      op: "delete",
      tags: { "1": { guid: shared, type: s.pii } },
    });
    expect(await sameAsFresh()).toMatchObject({ ledger: true, orders: true, customers: false });

    // A `replace` import and a tag in one refresh.
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      op: "replace",
      tags: { "1": { type: s.pii }, "2": { type: other } },
      serviceResources: [
        { id: 1, resourceElements: s.table("invoices") },
        { id: 2, resourceElements: s.table("ledger") },
      ],
      resourceToTagIds: { "1": [1, 2], "2": [2] },
    });
    await tag("refunds", [pii("high")]);
    expect(await sameAsFresh()).toEqual({
      orders: true,
      invoices: false,
      customers: true,
      payments: true,
      refunds: false,
      ledger: true,
    });
    expect(mine.stats.tagUpdates).toBe(10);
    // the schema's any-access sees every tagged table's tags, in resource order
    expect(tagsSeen(s, live, tables).schema.map((t) => t.matchType)).toEqual([
      "DESCENDANT",
      "DESCENDANT",
      "DESCENDANT",
    ]);
  });

  it("reads the whole document when the log cannot bridge the gap: elements changed in place, a pruned log", async () => {
    const s = await seedTaggedService(t);
    const tables = ["orders", "invoices", "customers"] as const;
    const mine = new LiveEngines(t.db);
    const live = await mine.get(s.service);
    const put = async (payload: object) => {
      const res = await t.request({ method: "PUT", url: "/service/tags/importservicetags", payload });
      expect(res.statusCode, res.body).toBe(204);
    };
    const sameAsFresh = async (fullReads: number) => {
      expect(await mine.refresh(s.service)).toBe(live);
      expect(mine.stats).toMatchObject({ builds: 1, tagFullReads: fullReads });
      const fresh = await new LiveEngines(t.db).get(s.service);
      expect(tagsSeen(s, live, tables)).toEqual(tagsSeen(s, fresh, tables));
      expect(decisions(s, live, tables)).toEqual(decisions(s, fresh, tables));
      return Object.fromEntries(decisions(s, live, tables).map((d) => [d.table, d.allowed]));
    };
    const guid = randomUUID();
    const doc = (table: string) => ({
      serviceName: s.service,
      tags: { "1": { type: s.pii } },
      serviceResources: [
        { id: 1, guid, resourceElements: s.table(table) },
        { id: 2, resourceElements: s.table("customers") },
      ],
      resourceToTagIds: { "1": [1], "2": [1] },
    });
    await put(doc("orders"));
    expect(await sameAsFresh(0)).toEqual({ orders: false, invoices: true, customers: false });
    // The resource named by its guid gets new elements: a delta would move it behind `customers`.
    await put(doc("invoices"));
    expect(await sameAsFresh(1)).toEqual({ orders: true, invoices: false, customers: false });
    // A pruned log (as `tagChangeLogVersions` prunes it): the entries of a version the engine has
    // not seen are gone, so the change is read whole.
    const tagOrders = async (level: string) => {
      const res = await t.request({
        method: "POST",
        url: `/v1/services/${s.service}/tagged-resources`,
        payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii, attributes: { level } }] },
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
    };
    await tagOrders("low");
    const service = await t.db.kysely
      .selectFrom("services")
      .select("id")
      .where("name", "=", s.service)
      .executeTakeFirstOrThrow();
    await t.db.kysely.deleteFrom("tag_changes").where("service_id", "=", service.id).execute();
    await tagOrders("high");
    expect(await sameAsFresh(2)).toEqual({ orders: false, invoices: false, customers: false });
    // From there on the log bridges again.
    await tagOrders("low");
    expect(await sameAsFresh(2)).toEqual({ orders: false, invoices: false, customers: false });
  });
});
