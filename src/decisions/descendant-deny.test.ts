import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "./test-seed.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

/**
 * `resourceMatchingScope` and `isDescendantDenyIgnored` reach the engine (issue 13): Ranger's HBase
 * authorizer asks a family-level scan with SELF_OR_DESCENDANTS and descendant denies not ignored
 * (RANGER-5001/RANGER-4977), so a deny on one column below the resource asked about denies it.
 */
describe(`decisions: descendant scope and descendant denies (${TEST_BACKEND})`, () => {
  it("denies a table-level request with a denied column only when asked not to ignore descendant denies", async () => {
    const s = await seedService(t);
    const table = { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["orders"] } };
    const create = (payload: Record<string, unknown>) =>
      t.request({
        method: "POST",
        url: `/v1/services/${s.service}/policies`,
        payload: { name: uniqueName("p"), ...payload },
      });
    const deny = await create({
      resources: { ...table, column: { values: ["ssn"] } },
      denyPolicyItems: [{ users: [s.alice], accesses: [{ type: "select" }] }],
    });
    expect(deny.statusCode).toBe(201);
    expect(
      (
        await create({
          resources: { ...table, column: { values: ["*"] } },
          policyItems: [{ groups: [s.analysts], accesses: [{ type: "select" }] }],
        })
      ).statusCode,
    ).toBe(201);
    const ask = (extra: Record<string, unknown>) =>
      t.request({
        method: "POST",
        url: "/v1/decisions",
        payload: {
          service: s.service,
          user: s.alice,
          resource: { catalog: "sales", schema: s.schema, table: "orders" },
          accessType: "select",
          ...extra,
        },
      });
    expect((await ask({})).json().allowed).toBe(true);
    expect((await ask({ resourceMatchingScope: "SELF_OR_DESCENDANTS" })).json().allowed).toBe(true);
    expect((await ask({ isDescendantDenyIgnored: false })).json().allowed).toBe(true);
    const scan = (await ask({ resourceMatchingScope: "SELF_OR_DESCENDANTS", isDescendantDenyIgnored: false })).json();
    expect(scan).toMatchObject({ allowed: false, policyId: deny.json().id });
    const bad = await ask({ resourceMatchingScope: "ALL" });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("resourceMatchingScope");
  });
});
