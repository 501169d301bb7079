import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { seedService, spawnServer } from "./test-seed.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

let t: TestApp;
let second: { url: string; child: ChildProcess } | undefined;

beforeAll(async () => {
  t = await testApp();
  if (url) second = await spawnServer(url);
}, 60_000);
afterAll(async () => {
  await t.app.close();
  if (second) {
    second.child.kill("SIGTERM");
    await once(second.child, "exit");
  }
});

describe("change propagation between processes", () => {
  // Needs PostgreSQL: two processes cannot share the embedded database, and LISTEN/NOTIFY
  // between them is what is under test.
  it.runIf(url)(
    "a policy change committed by one process shows in the next decisions of another within 1 s",
    async () => {
      const s = await seedService(t);
      const remote = second as { url: string };
      const ask = async (user: string) => {
        const res = await fetch(`${remote.url}/v1/decisions`, {
          method: "POST",
          headers: { "content-type": "application/json", "authorization-psk": TEST_PSK },
          body: JSON.stringify({
            service: s.service,
            user,
            resource: { catalog: "sales", schema: s.schema, table: "orders" },
            accessType: "select",
          }),
        });
        return (await res.json()) as { allowed: boolean; servicePolicyVersion: number };
      };
      expect((await ask(s.alice)).allowed).toBe(true);
      expect((await ask(s.bob)).allowed).toBe(false);
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
        while ((await ask(s.bob)).allowed !== grantBob) {
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
      while (!(await ask(s.bob)).allowed) {
        expect(performance.now() - started).toBeLessThan(1_000);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(Math.max(...waits)).toBeLessThan(1_000);
    },
  );
});
