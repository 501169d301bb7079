import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedTaggedService } from "./test-seed.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

describe(`resource tags (${TEST_BACKEND})`, () => {
  it("a tag policy denying PII flips a decision when the table is tagged, and back when untagged", async () => {
    const s = await seedTaggedService(t);
    expect(await s.decide("orders")).toMatchObject({ allowed: true, policyId: s.policy.id });

    const tagged = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/tagged-resources`,
      payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii, attributes: { level: "high" } }] },
    });
    expect(tagged.statusCode, tagged.body).toBe(201);
    const resource = tagged.json();
    expect(resource).toMatchObject({ serviceName: s.service, tags: [{ type: s.pii, attributes: { level: "high" } }] });
    expect(await s.decide("orders")).toMatchObject({ allowed: false, policyId: s.tagPolicy.id });
    // Other tables are not tagged; the resource policy still allows them.
    expect((await s.decide("invoices")).allowed).toBe(true);

    // Tagging again with the same tag changes nothing (200, no new tag version).
    const svc = async () => (await t.request({ method: "GET", url: `/v1/services/${s.service}` })).json();
    const version = (await svc()).tagVersion;
    const again = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/tagged-resources`,
      payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii, attributes: { level: "high" } }] },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().tags[0].id).toBe(resource.tags[0].id);
    expect((await svc()).tagVersion).toBe(version);

    const list = await t.request({
      method: "GET",
      url: `/v1/services/${s.service}/tagged-resources?tag=${s.pii}`,
    });
    expect(list.json()).toMatchObject({ total: 1, nextCursor: null, items: [{ id: resource.id }] });
    const byElements = await t.request({
      method: "GET",
      url: `/v1/services/${s.service}/tagged-resources?resource=${encodeURIComponent(`catalog=sales,schema=${s.schema},table=orders`)}`,
    });
    expect(byElements.json().items.map((r: { id: number }) => r.id)).toEqual([resource.id]);

    const untag = await t.request({
      method: "DELETE",
      url: `/v1/services/${s.service}/tagged-resources/${resource.id}/tags/${s.pii}`,
    });
    expect(untag.statusCode).toBe(204);
    expect(await s.decide("orders")).toMatchObject({ allowed: true, policyId: s.policy.id });
    expect((await svc()).tagVersion).toBe(version + 1);
    // The last tag gone, the resource is gone too.
    expect(
      (await t.request({ method: "GET", url: `/v1/services/${s.service}/tagged-resources/${resource.id}` })).statusCode,
    ).toBe(404);
  });

  it("a tag policy change reaches the linked service's engine as a delta, and relinking rebuilds it", async () => {
    const s = await seedTaggedService(t);
    await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/tagged-resources`,
      payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii }] },
    });
    expect((await s.decide("orders")).allowed).toBe(false);
    const before = (await t.request({ method: "GET", url: `/v1/services/${s.service}/engine` })).json();
    // The tag policy now denies someone else: alice is allowed again, through a delta.
    const upd = await t.request({
      method: "PATCH",
      url: `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`,
      payload: { denyPolicyItems: [{ users: [s.bob], accesses: [{ type: "trino:select" }] }] },
    });
    expect(upd.statusCode, upd.body).toBe(200);
    const decision = await s.decide("orders");
    expect(decision.allowed).toBe(true);
    expect(decision.servicePolicyVersion).toBe(before.policyVersion + 1);
    const after = (await t.request({ method: "GET", url: `/v1/services/${s.service}/engine` })).json();
    expect(after.builds).toBe(before.builds);
    expect(after.deltasApplied).toBeGreaterThan(before.deltasApplied);
    // The delta is in the service's own log, marked as a tag policy.
    const deltas = await t.request({
      method: "GET",
      url: `/service/plugins/policies/download/${s.service}?lastKnownVersion=${before.policyVersion}&supportsPolicyDeltas=true`,
    });
    expect(deltas.json().policyDeltas).toMatchObject([
      { changeType: 1, policy: { id: s.tagPolicy.id, serviceType: "tag", service: s.tagService } },
    ]);
    expect(deltas.json().tagPolicies).toMatchObject({ serviceName: s.tagService, serviceDef: { name: "tag" } });
    expect(deltas.json().tagPolicies.policies).toBeUndefined();

    // Unlinking: the tag policies no longer apply; the policy version moves so plugins reload.
    const unlink = await t.request({
      method: "PATCH",
      url: `/v1/services/${s.service}`,
      payload: { tagService: null },
    });
    expect(unlink.statusCode).toBe(200);
    expect(unlink.json()).toMatchObject({ tagService: null, policyVersion: before.policyVersion + 2 });
    const full = await t.request({
      method: "GET",
      url: `/service/plugins/policies/download/${s.service}?lastKnownVersion=${before.policyVersion + 1}&supportsPolicyDeltas=true`,
    });
    expect(full.json().policies).toHaveLength(1);
    expect(full.json().tagPolicies).toBeUndefined();
  });

  it("a disabled tag service contributes no tag policies, and the linked services' plugins reload", async () => {
    const s = await seedTaggedService(t);
    await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/tagged-resources`,
      payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii }] },
    });
    expect((await s.decide("orders")).allowed).toBe(false);
    const version = (await t.request({ method: "GET", url: `/v1/services/${s.service}` })).json().policyVersion;
    const toggle = (isEnabled: boolean) =>
      t.request({ method: "PATCH", url: `/v1/services/${s.tagService}`, payload: { isEnabled } });
    expect((await toggle(false)).statusCode).toBe(200);
    expect((await s.decide("orders")).allowed).toBe(true);
    const download = await t.request({
      method: "GET",
      url: `/service/plugins/policies/download/${s.service}?lastKnownVersion=${version}`,
    });
    expect(download.json()).toMatchObject({ policyVersion: version + 1 });
    expect(download.json().tagPolicies).toBeUndefined();
    expect((await toggle(true)).statusCode).toBe(200);
    expect((await s.decide("orders")).allowed).toBe(false);
    // Deleting the service takes its tagged resources and their tags along.
    const tagId = (await t.request({ method: "GET", url: `/v1/services/${s.service}/tagged-resources` })).json()
      .items[0].tags[0].id;
    expect((await t.request({ method: "DELETE", url: `/v1/services/${s.service}` })).statusCode).toBe(204);
    const left = await t.db.kysely.selectFrom("tags").select("id").where("id", "=", tagId).execute();
    expect(left).toEqual([]);
  });

  it("the built-in trino service is linked to `tags`, so an Nx1 tag-role association grants access to tagged data", async () => {
    expect((await t.request({ method: "GET", url: "/v1/services/trino" })).json()).toMatchObject({
      tagService: "tags",
    });
    const tag = uniqueName("Confidential");
    const role = uniqueName("auditors");
    const schema = uniqueName("s");
    expect((await t.request({ method: "POST", url: "/v1/tag-defs", payload: { name: tag } })).statusCode).toBe(201);
    const assoc = await t.request({
      method: "POST",
      url: `/api/metastore/tags/${tag}/roles/${role}/associate?readonly=true`,
    });
    expect(assoc.statusCode, assoc.body).toBeLessThan(300);
    const decide = async () =>
      (
        await t.request({
          method: "POST",
          url: "/v1/decisions",
          payload: {
            service: "trino",
            user: uniqueName("ext"),
            groups: [],
            roles: [role],
            resource: { catalog: "lake", schema, table: "ledger" },
            accessType: "select",
          },
        })
      ).json();
    expect((await decide()).allowed).toBe(false);
    const tagged = await t.request({
      method: "POST",
      url: "/v1/services/trino/tagged-resources",
      payload: {
        resourceElements: { catalog: { values: ["lake"] }, schema: { values: [schema] } },
        tags: [{ type: tag }],
      },
    });
    expect(tagged.statusCode, tagged.body).toBe(201);
    // The tag on the schema applies to its tables (an ancestor's tag).
    expect(await decide()).toMatchObject({ allowed: true });
  });

  it("serves ServiceTags with the service's tag version, 304 when current", async () => {
    const s = await seedTaggedService(t);
    const url = (v: number) => `/service/tags/download/${s.service}?lastKnownVersion=${v}&pluginId=tags-test`;
    const empty = await t.request({ method: "GET", url: url(-1) });
    expect(empty.json()).toMatchObject({ serviceName: s.service, tagVersion: 0, serviceResources: [] });
    expect((await t.request({ method: "GET", url: url(0) })).statusCode).toBe(304);

    const tagged = (
      await t.request({
        method: "POST",
        url: `/v1/services/${s.service}/tagged-resources`,
        payload: {
          resourceElements: s.table("orders"),
          tags: [{ type: s.pii, attributes: { level: "low" }, validityPeriods: [{ endTime: "2099/12/31 00:00:00" }] }],
        },
      })
    ).json();
    const doc = await t.request({ method: "GET", url: url(0) });
    expect(doc.statusCode).toBe(200);
    const body = doc.json();
    const tagId = tagged.tags[0].id;
    expect(body).toMatchObject({
      serviceName: s.service,
      tagVersion: 1,
      isDelta: false,
      serviceResources: [{ id: tagged.id, resourceElements: s.table("orders") }],
      resourceToTagIds: { [String(tagged.id)]: [tagId] },
      tags: { [String(tagId)]: { type: s.pii, attributes: { level: "low" } } },
    });
    expect(Object.values(body.tagDefinitions)).toMatchObject([{ name: s.pii, attributeDefs: [{ name: "level" }] }]);
    expect(typeof body.tagUpdateTime).toBe("number");
    expect((await t.request({ method: "GET", url: url(1) })).statusCode).toBe(304);
    const plugins = (await t.request({ method: "GET", url: `/v1/services/${s.service}/plugins` })).json();
    expect(plugins.items).toMatchObject([{ pluginId: "tags-test", kind: "tags", servedVersion: 1, status: 304 }]);
  });

  it("imports Ranger ServiceTags: add_or_update, replace and delete, with versions and decisions following", async () => {
    const s = await seedTaggedService(t);
    const put = (payload: Record<string, unknown>) =>
      t.request({ method: "PUT", url: "/service/tags/importservicetags", payload });
    const guid = "6f1f3c52-0d5a-4a57-9b1e-2f0c2d3e4a5b".replace("6f1f3c52", crypto.randomUUID().slice(0, 8));
    const res = await put({
      op: "add_or_update",
      serviceName: s.service,
      tagDefinitions: { "1": { name: s.pii, attributeDefs: [{ name: "level" }, { name: "owner" }] } },
      tags: { "10": { guid, type: s.pii, attributes: { level: "high" } } },
      serviceResources: [
        { id: 100, resourceElements: s.table("orders") },
        { id: 101, resourceElements: s.table("payments") },
      ],
      resourceToTagIds: { "100": [10], "101": [10] },
    });
    expect(res.statusCode, res.body).toBe(204);
    expect((await s.decide("orders")).allowed).toBe(false);
    expect((await s.decide("payments")).allowed).toBe(false);
    const doc = (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json();
    expect(doc.serviceResources).toHaveLength(2);
    expect(Object.values(doc.tags)).toMatchObject([{ guid, type: s.pii }]);
    expect((await t.request({ method: "GET", url: `/v1/tag-defs/${s.pii}` })).json().attributeDefs).toHaveLength(2);

    // add_or_update again: orders listed with no tags loses its tag; payments is left alone.
    expect(
      (
        await put({
          serviceName: s.service,
          serviceResources: [{ id: 1, resourceElements: s.table("orders") }],
          resourceToTagIds: { "1": [] },
        })
      ).statusCode,
    ).toBe(204);
    expect((await s.decide("orders")).allowed).toBe(true);
    expect((await s.decide("payments")).allowed).toBe(false);

    // replace: only payments stays tagged.
    expect(
      (
        await put({
          op: "replace",
          serviceName: s.service,
          tags: { "1": { type: s.pii } },
          serviceResources: [{ id: 5, resourceElements: s.table("payments") }],
          resourceToTagIds: { "5": [1] },
        })
      ).statusCode,
    ).toBe(204);
    expect((await s.decide("orders")).allowed).toBe(true);
    expect((await s.decide("payments")).allowed).toBe(false);

    // delete by resource elements.
    expect(
      (
        await put({
          op: "delete",
          serviceName: s.service,
          serviceResources: [{ resourceElements: s.table("payments") }],
        })
      ).statusCode,
    ).toBe(204);
    expect((await s.decide("payments")).allowed).toBe(true);
    const last = (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json();
    expect(last).toMatchObject({ tagVersion: 4, serviceResources: [], tags: {} });
    const audit = await t.request({ method: "GET", url: `/v1/audit/events?action=service_tags.imported&limit=5` });
    expect(audit.statusCode).toBe(200);
  });

  it("rejects bad input with errors naming the field and the rule", async () => {
    const s = await seedTaggedService(t);
    const tag = (payload: Record<string, unknown>) =>
      t.request({ method: "POST", url: `/v1/services/${s.service}/tagged-resources`, payload });
    const unknownType = await tag({ resourceElements: s.table("orders"), tags: [{ type: uniqueName("nope") }] });
    expect(unknownType.statusCode).toBe(400);
    expect(unknownType.json()).toMatchObject({
      code: "TAGS_INVALID",
      details: [{ field: "body.tags[0].type", rule: "tagTypeKnown" }],
    });
    const badKey = await tag({
      resourceElements: { catalog: { values: ["sales"] }, tabel: { values: ["x"] } },
      tags: [{ type: s.pii, attributes: { levle: "x" } }],
    });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().details).toEqual([
      expect.objectContaining({ field: "body.resourceElements.tabel", rule: "resourceKnown" }),
      expect.objectContaining({ field: "body.tags[0].attributes.levle", rule: "attributeDefined" }),
    ]);
    const noSchema = await tag({
      resourceElements: { catalog: { values: ["sales"] }, table: { values: ["x"] } },
      tags: [{ type: s.pii }],
    });
    expect(noSchema.json().details).toMatchObject([{ field: "body.resourceElements", rule: "hierarchy" }]);
    const twice = await tag({ resourceElements: s.table("t"), tags: [{ type: s.pii }, { type: s.pii }] });
    expect(twice.json().details).toMatchObject([{ field: "body.tags[1].type", rule: "uniqueType" }]);
    const onTagService = await t.request({
      method: "POST",
      url: `/v1/services/${s.tagService}/tagged-resources`,
      payload: { resourceElements: { tag: { values: ["x"] } }, tags: [{ type: s.pii }] },
    });
    expect(onTagService.json()).toMatchObject({ code: "TAGS_INVALID", details: [{ rule: "notTagService" }] });
    expect(
      (
        await t.request({
          method: "POST",
          url: "/v1/services/no-such-svc/tagged-resources",
          payload: { resourceElements: s.table("t"), tags: [{ type: s.pii }] },
        })
      ).statusCode,
    ).toBe(404);

    // Tag services: the link must name a tag service; a linked tag service cannot be deleted.
    const link = (tagService: string) =>
      t.request({ method: "PATCH", url: `/v1/services/${s.service}`, payload: { tagService } });
    expect((await link("no-such-tags")).json()).toMatchObject({
      code: "TAG_SERVICE_INVALID",
      details: [{ field: "body.tagService", rule: "tagServiceExists" }],
    });
    expect((await link(s.service)).json().details).toMatchObject([{ rule: "tagServiceType" }]);
    const created = await t.request({
      method: "POST",
      url: "/v1/services",
      payload: { name: uniqueName("tags2"), type: "tag", tagService: s.tagService },
    });
    expect(created.json().details).toMatchObject([{ rule: "notTagService" }]);
    const del = await t.request({ method: "DELETE", url: `/v1/services/${s.tagService}` });
    expect(del.statusCode).toBe(409);
    expect(del.json()).toMatchObject({ code: "TAG_SERVICE_IN_USE", meta: { services: [s.service] } });

    // Tag types.
    expect((await t.request({ method: "POST", url: "/v1/tag-defs", payload: { name: s.pii } })).json().code).toBe(
      "TAG_DEF_NAME_TAKEN",
    );
    expect((await t.request({ method: "POST", url: "/v1/tag-defs", payload: { name: "bad/name" } })).statusCode).toBe(
      400,
    );
    await tag({ resourceElements: s.table("orders"), tags: [{ type: s.pii }] });
    expect((await t.request({ method: "DELETE", url: `/v1/tag-defs/${s.pii}` })).json().code).toBe("TAG_DEF_IN_USE");

    // Import: references are checked before anything is written.
    const imp = await t.request({
      method: "PUT",
      url: "/service/tags/importservicetags",
      payload: {
        serviceName: s.service,
        tags: { "1": { type: uniqueName("unknown") } },
        serviceResources: [{ id: 1, resourceElements: s.table("x") }],
        resourceToTagIds: { "1": [2], "9": [1] },
      },
    });
    expect(imp.statusCode).toBe(400);
    expect(imp.json().details.map((d: { field: string; rule: string }) => `${d.field}:${d.rule}`)).toEqual([
      "body.tags.1.type:tagTypeKnown",
      "body.resourceToTagIds.1:tagKnown",
      "body.resourceToTagIds.9:resourceKnown",
    ]);
    expect((await s.decide("x")).allowed).toBe(true);
  });
});
