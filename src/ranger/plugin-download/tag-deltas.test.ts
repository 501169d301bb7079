import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { applyServiceTagsDelta, type ServiceTags } from "../../engine/index.ts";
import { seedTaggedService } from "../../tags/test-seed.ts";

let t: TestApp;

// A short log, so a plugin a few versions behind falls off it.
const KEEP = 3;

beforeAll(async () => {
  t = await testApp({ GATEHOUSE_TAG_CHANGE_LOG_VERSIONS: String(KEEP) });
});
afterAll(async () => {
  await t.app.close();
});

/** What a Ranger plugin sends: `lastKnownVersion` and, when it takes them, `supportsTagDeltas=true`. */
async function download(service: string, lastKnownVersion: number, supportsTagDeltas = true) {
  const query = `lastKnownVersion=${lastKnownVersion}${supportsTagDeltas ? "&supportsTagDeltas=true" : ""}&pluginId=p1`;
  const res = await t.request({ method: "GET", url: `/service/tags/download/${service}?${query}` });
  return { status: res.statusCode, body: res.statusCode === 200 ? (res.json() as ServiceTags) : null };
}

/** The document without the definitions of types no longer used (a delta never takes those away). */
function withoutDefs(doc: ServiceTags): ServiceTags {
  const { tagDefinitions: _, ...rest } = doc;
  return rest;
}

describe(`tag downloads with supportsTagDeltas (${TEST_BACKEND})`, () => {
  it("answers a delta after a change, 304 when current, and the whole document when the plugin is older than the log", async () => {
    const s = await seedTaggedService(t);
    const ok = async (method: "POST" | "DELETE", url: string, payload?: object) => {
      const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    const tag = (table: string, level = "high") =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type: s.pii, attributes: { level } }],
      });

    const orders = await tag("orders");
    const first = await download(s.service, -1);
    expect(first.status).toBe(200);
    const v1 = first.body as ServiceTags;
    expect(v1).toMatchObject({ isDelta: false, serviceName: s.service });
    expect(await download(s.service, v1.tagVersion as number)).toEqual({ status: 304, body: null });

    // One change: only the new resource, its tag and the tag's definition.
    const invoices = await tag("invoices");
    const d1 = await download(s.service, v1.tagVersion as number);
    expect(d1.status).toBe(200);
    const delta = d1.body as ServiceTags;
    expect(delta).toMatchObject({
      isDelta: true,
      tagsChangeExtent: "SERVICE_RESOURCE",
      serviceName: s.service,
      tagVersion: (v1.tagVersion as number) + 1,
    });
    expect(delta.serviceResources).toEqual([
      {
        id: invoices.id,
        guid: invoices.guid,
        serviceName: s.service,
        resourceElements: invoices.resourceElements,
        resourceSignature: invoices.resourceSignature,
      },
    ]);
    const invoiceTag = invoices.tags[0];
    expect(delta.resourceToTagIds).toEqual({ [String(invoices.id)]: [invoiceTag.id] });
    expect(delta.tags).toEqual({ [String(invoiceTag.id)]: invoiceTag });
    expect(Object.values(delta.tagDefinitions ?? {}).map((d) => d.name)).toEqual([s.pii]);
    const whole = (await download(s.service, -1)).body as ServiceTags;
    expect(withoutDefs(applyServiceTagsDelta(v1, delta))).toEqual(withoutDefs(whole));
    expect(await download(s.service, whole.tagVersion as number)).toEqual({ status: 304, body: null });

    // Untag (the resource goes, as Ranger sends a removed one: id, no signature, no elements) and
    // a retag in place, as one delta.
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${orders.id}/tags/${s.pii}`);
    await tag("invoices", "low");
    const d2 = (await download(s.service, whole.tagVersion as number)).body as ServiceTags;
    expect(d2.isDelta).toBe(true);
    expect(d2.serviceResources?.[0]).toEqual({ id: orders.id, resourceElements: {} });
    expect(d2.tags?.[String(orders.tags[0].id)]).toEqual({ id: orders.tags[0].id });
    expect(d2.tags?.[String(invoiceTag.id)]?.attributes).toEqual({ level: "low" });
    const now = (await download(s.service, -1)).body as ServiceTags;
    expect(withoutDefs(applyServiceTagsDelta(whole, d2))).toEqual(withoutDefs(now));

    // Without supportsTagDeltas, and for a version the service never had: the whole document.
    expect((await download(s.service, whole.tagVersion as number, false)).body).toMatchObject({ isDelta: false });
    expect((await download(s.service, (now.tagVersion as number) + 5)).body).toMatchObject({ isDelta: false });
    expect((await download(s.service, 99_999_999_999)).body).toMatchObject({ isDelta: false });

    // More changes than the log keeps: a plugin at the old version gets the whole document, one
    // within the last KEEP versions a delta.
    for (const table of ["customers", "payments", "refunds", "ledger"]) await tag(table);
    const latest = (await download(s.service, -1)).body as ServiceTags;
    expect(latest.tagVersion).toBe((now.tagVersion as number) + 4);
    const old = await download(s.service, now.tagVersion as number);
    expect(old.body).toMatchObject({ isDelta: false, tagVersion: latest.tagVersion });
    expect(old.body?.serviceResources?.length).toBe(5);
    const recent = await download(s.service, (latest.tagVersion as number) - KEEP);
    expect(recent.body).toMatchObject({ isDelta: true, tagVersion: latest.tagVersion });
    expect(recent.body?.serviceResources?.length).toBe(KEEP);
    const rows = await t.db.kysely
      .selectFrom("tag_changes as c")
      .innerJoin("services as sv", "sv.id", "c.service_id")
      .select("c.tag_version")
      .distinct()
      .where("sv.name", "=", s.service)
      .execute();
    expect(rows.length).toBe(KEEP);
  });

  it("refuses malformed parameters with a 400 naming the field", async () => {
    const s = await seedTaggedService(t);
    for (const [query, field] of [
      ["supportsTagDeltas=maybe", "supportsTagDeltas"],
      ["lastKnownVersion=abc", "lastKnownVersion"],
      ["lastKnownVersion=1.5", "lastKnownVersion"],
    ]) {
      const res = await t.request({ method: "GET", url: `/service/tags/download/${s.service}?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.body, query).toContain(field);
    }
  });
});
