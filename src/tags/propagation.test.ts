import { describe, expect, it } from "vitest";
import { allowedOn, useTwoProcesses } from "../decisions/test-seed.ts";
import { seedTaggedService } from "./test-seed.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

const processes = useTwoProcesses(url);

describe("tag change propagation between processes", () => {
  // Needs PostgreSQL: two processes cannot share the embedded database, and LISTEN/NOTIFY
  // between them is what is under test.
  it.runIf(url)(
    "tagging, untagging, a tag policy change and a Ranger import committed by one process show in the next decisions of another within 1 s",
    async () => {
      const t = processes.app();
      const s = await seedTaggedService(t);
      const allowedThere = () => allowedOn(processes.remoteUrl(), s.service, s.alice, s.schema);
      const waits: number[] = [];
      const until = async (allowed: boolean) => {
        const started = performance.now();
        while ((await allowedThere()) !== allowed) {
          expect(performance.now() - started).toBeLessThan(1_000);
          await new Promise((r) => setTimeout(r, 5));
        }
        waits.push(performance.now() - started);
      };
      // The other process loads the engine before any change.
      expect(await allowedThere()).toBe(true);

      const tagged = await t.request({
        method: "POST",
        url: `/v1/services/${s.service}/tagged-resources`,
        payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii }] },
      });
      expect(tagged.statusCode).toBe(201);
      await until(false);

      const disable = await t.request({
        method: "POST",
        url: `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}/disable`,
      });
      expect(disable.statusCode, disable.body).toBeLessThan(300);
      await until(true);
      await t.request({ method: "POST", url: `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}/enable` });
      await until(false);

      const untag = await t.request({
        method: "DELETE",
        url: `/v1/services/${s.service}/tagged-resources/${tagged.json().id}/tags/${s.pii}`,
      });
      expect(untag.statusCode).toBe(204);
      await until(true);

      const imported = await t.request({
        method: "PUT",
        url: "/service/tags/importservicetags",
        payload: {
          serviceName: s.service,
          tags: { "1": { type: s.pii } },
          serviceResources: [{ id: 1, resourceElements: s.table("orders") }],
          resourceToTagIds: { "1": [1] },
        },
      });
      expect(imported.statusCode, imported.body).toBe(204);
      await until(false);
      expect(Math.max(...waits)).toBeLessThan(1_000);
    },
  );
});
