import { describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { allowedOn, seedService, useTwoProcesses } from "../decisions/test-seed.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

const processes = useTwoProcesses(url);

describe("security zone propagation between processes", () => {
  // Needs PostgreSQL: two processes cannot share the embedded database, and LISTEN/NOTIFY
  // between them is what is under test.
  it.runIf(url)(
    "creating, narrowing and deleting a zone, and a zone policy, committed by one process show in the next decisions of another within 1 s",
    async () => {
      const t = processes.app();
      const s = await seedService(t);
      const allowedThere = (user: string) => allowedOn(processes.remoteUrl(), s.service, user, s.schema);
      const waits: number[] = [];
      const until = async (user: string, allowed: boolean) => {
        const started = performance.now();
        while ((await allowedThere(user)) !== allowed) {
          expect(performance.now() - started).toBeLessThan(1_000);
          await new Promise((r) => setTimeout(r, 5));
        }
        waits.push(performance.now() - started);
      };
      const write = async (method: "POST" | "PATCH" | "DELETE", path: string, payload?: Record<string, unknown>) => {
        const res = await t.request({ method, url: path, ...(payload ? { payload } : {}) });
        expect(res.statusCode, res.body).toBeLessThan(300);
        return res.statusCode === 204 ? null : res.json();
      };
      // The other process loads the engine before any change: alice is allowed by the default zone.
      expect(await allowedThere(s.alice)).toBe(true);

      const zone = uniqueName("fin");
      await write("POST", "/v1/zones", {
        name: zone,
        services: { [s.service]: { resources: [{ catalog: ["sales"] }] } },
      });
      await until(s.alice, false);

      const policy = await write("POST", `/v1/services/${s.service}/policies`, {
        name: uniqueName("fin-bob"),
        zoneName: zone,
        resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
        policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
      });
      await until(s.bob, true);

      await write("PATCH", `/v1/zones/${zone}`, {
        services: { [s.service]: { resources: [{ catalog: ["sales"], schema: ["restricted"] }] } },
      });
      await until(s.alice, true);
      await until(s.bob, false);

      await write("DELETE", `/v1/services/${s.service}/policies/${policy.id}`);
      await write("DELETE", `/v1/zones/${zone}`);
      await until(s.alice, true);
      expect(Math.max(...waits)).toBeLessThan(1_000);
      console.log(`zone propagation waits (ms): ${waits.map((w) => w.toFixed(0)).join(", ")}`);
    },
  );
});
