import { describe, expect, it } from "vitest";
import { allowedOn, seedService, useTwoProcesses } from "./test-seed.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

const processes = useTwoProcesses(url);

describe("change propagation between processes", () => {
  // Needs PostgreSQL: two processes cannot share the embedded database, and LISTEN/NOTIFY
  // between them is what is under test.
  it.runIf(url)(
    "a policy change committed by one process shows in the next decisions of another within 1 s",
    async () => {
      const t = processes.app();
      const s = await seedService(t);
      const allowedThere = (user: string) => allowedOn(processes.remoteUrl(), s.service, user, s.schema);
      expect(await allowedThere(s.alice)).toBe(true);
      expect(await allowedThere(s.bob)).toBe(false);
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        const grantBob = i % 2 === 0;
        const items = grantBob
          ? [{ groups: [s.analysts], users: [s.bob], accesses: [{ type: "select" }] }]
          : [{ groups: [s.analysts], accesses: [{ type: "select" }] }];
        const res = await t.request({
          method: "PATCH",
          url: `/v1/services/${s.service}/policies/${s.policy.id}`,
          payload: { policyItems: items },
        });
        expect(res.statusCode).toBe(200);
        const started = performance.now();
        while ((await allowedThere(s.bob)) !== grantBob) {
          expect(performance.now() - started).toBeLessThan(1_000);
          await new Promise((r) => setTimeout(r, 5));
        }
        waits.push(performance.now() - started);
      }
      // A directory change (bob joins the group) reaches the other process too.
      expect((await t.request({ method: "PUT", url: `/v1/groups/${s.groupId}/members/${s.bobId}` })).statusCode).toBe(
        201,
      );
      const started = performance.now();
      while (!(await allowedThere(s.bob))) {
        expect(performance.now() - started).toBeLessThan(1_000);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(Math.max(...waits)).toBeLessThan(1_000);
    },
  );
});
