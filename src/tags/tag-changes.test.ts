import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

/** The service's tag version and its change-log entries, oldest first. */
async function logOf(service: string) {
  const row = await t.db.kysely
    .selectFrom("services")
    .select(["id", "tag_version"])
    .where("name", "=", service)
    .executeTakeFirstOrThrow();
  const entries = await t.db.kysely
    .selectFrom("tag_changes")
    .select(["tag_version", "object_type", "object_id", "change_type"])
    .where("service_id", "=", row.id)
    .orderBy("id")
    .execute();
  return { version: row.tag_version, entries };
}

describe(`the resource-tag change log (${TEST_BACKEND})`, () => {
  it("records each write's resources and tags with the version it made, and nothing for a write that fails", async () => {
    const s = await seedTaggedService(t);
    const ok = async (method: "POST" | "PUT" | "DELETE", url: string, payload?: object) => {
      const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    const before = await logOf(s.service);
    const tagged = await ok("POST", `/v1/services/${s.service}/tagged-resources`, {
      resourceElements: s.table("orders"),
      tags: [{ type: s.pii }],
    });
    const v1 = before.version + 1;
    expect(await logOf(s.service)).toEqual({
      version: v1,
      entries: [
        ...before.entries,
        { tag_version: v1, object_type: "resource", object_id: tagged.id, change_type: "added" },
        { tag_version: v1, object_type: "tag", object_id: tagged.tags[0].id, change_type: "added" },
      ],
    });

    // Tagging with the same tags changes nothing: no version, no entry.
    await ok("POST", `/v1/services/${s.service}/tagged-resources`, {
      resourceElements: s.table("orders"),
      tags: [{ type: s.pii }],
    });
    expect((await logOf(s.service)).version).toBe(v1);

    // An import that fails after it began writing (the new tag is inserted before the resource
    // named by its guid is found to clash with another one) leaves no version and no entry.
    await ok("POST", `/v1/services/${s.service}/tagged-resources`, {
      resourceElements: s.table("invoices"),
      tags: [{ type: s.pii }],
    });
    const mid = await logOf(s.service);
    const failed = await t.request({
      method: "PUT",
      url: "/service/tags/importservicetags",
      payload: {
        serviceName: s.service,
        tags: { "1": { type: s.pii, attributes: { level: "new" } } },
        serviceResources: [{ id: 1, guid: tagged.guid, resourceElements: s.table("invoices") }],
        resourceToTagIds: { "1": [1] },
      },
    });
    expect(failed.statusCode, failed.body).toBe(400);
    expect(failed.body).toContain("uniqueResource");
    expect(await logOf(s.service)).toEqual(mid);

    // Untagging the last tag deletes the resource and its tag: one version, both named.
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${tagged.id}/tags/${s.pii}`);
    const after = await logOf(s.service);
    expect(after.version).toBe(mid.version + 1);
    expect(after.entries.slice(mid.entries.length)).toEqual([
      { tag_version: mid.version + 1, object_type: "resource", object_id: tagged.id, change_type: "deleted" },
      { tag_version: mid.version + 1, object_type: "tag", object_id: tagged.tags[0].id, change_type: "deleted" },
    ]);
  });

  it("a shared tag's change is logged for every service carrying it; an import of what is there logs `none`", async () => {
    const a = await seedTaggedService(t);
    const b = await seedTaggedService(t);
    const guid = randomUUID();
    const put = async (service: string, level: string) => {
      const res = await t.request({
        method: "PUT",
        url: "/service/tags/importservicetags",
        payload: {
          serviceName: service,
          tags: { "1": { guid, type: a.pii, attributes: { level } } },
          serviceResources: [{ id: 1, resourceElements: a.table("orders") }],
          resourceToTagIds: { "1": [1] },
        },
      });
      expect(res.statusCode, res.body).toBe(204);
    };
    await put(a.service, "low");
    await put(b.service, "low");
    const tag = await t.db.kysely.selectFrom("tags").select("id").where("guid", "=", guid).executeTakeFirstOrThrow();
    const [beforeA, beforeB] = [await logOf(a.service), await logOf(b.service)];

    // The same document again: a version (Ranger's import always moves it) with one `none` entry.
    await put(b.service, "low");
    const same = await logOf(b.service);
    expect(same.entries.slice(beforeB.entries.length)).toEqual([
      { tag_version: beforeB.version + 1, object_type: "none", object_id: 0, change_type: "updated" },
    ]);

    // New attributes through b's import: a's document changes too.
    await put(b.service, "high");
    const [afterA, afterB] = [await logOf(a.service), await logOf(b.service)];
    expect(afterA.version).toBe(beforeA.version + 1);
    expect(afterA.entries.slice(beforeA.entries.length)).toEqual([
      { tag_version: afterA.version, object_type: "tag", object_id: tag.id, change_type: "updated" },
    ]);
    expect(afterB.entries.slice(same.entries.length)).toEqual([
      { tag_version: same.version + 1, object_type: "tag", object_id: tag.id, change_type: "updated" },
    ]);
  });
});
