import { beforeAll, describe, expect, it } from "vitest";
import { buildOrg } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { TOTAL_BOUND } from "../http/totals.ts";

let t: TestApp;
let orgId: string;
const OVER = TOTAL_BOUND + 2; // "many-" names: more than a bounded count reads
const UNDER = 3; // "few-" names

beforeAll(async () => {
  t = await testApp();
  orgId = (await buildOrg(t.db)).id;
  const names = [
    ...Array.from({ length: OVER }, (_, i) => `many-${String(i).padStart(5, "0")}`),
    ...Array.from({ length: UNDER }, (_, i) => `few-${i}`),
  ];
  // rows inserted directly: a thousand creations through the API would only slow the test down
  await t.db.kysely
    .insertInto("users")
    .values(names.map((username) => ({ org_id: orgId, username, email: null, display_name: null, external_id: null })))
    .execute();
  await t.db.kysely
    .insertInto("groups")
    .values(
      names.map((name) => ({ org_id: orgId, name, parent_id: null, external_id: null, identity_source_id: null })),
    )
    .execute();
  await t.db.kysely
    .insertInto("roles")
    .values(names.map((name) => ({ org_id: orgId, name, permissions: [] })))
    .execute();
});

const list = async (kind: string, query: string) => {
  const res = await t.request({ method: "GET", url: `/v1/${kind}?orgId=${orgId}&limit=8&${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

describe.each(["users", "groups", "roles"])(`the %s list's total parameter (${TEST_BACKEND})`, (kind) => {
  it("counts every match by default and with total=exact, without totalIsLowerBound", async () => {
    for (const query of ["prefix=many-", "prefix=many-&total=exact"]) {
      const page = await list(kind, query);
      expect(page.total).toBe(OVER);
      expect(page).not.toHaveProperty("totalIsLowerBound");
      expect(page.items).toHaveLength(8);
    }
  });

  it("bounded: exact below the bound, capped at it with totalIsLowerBound above it", async () => {
    const few = await list(kind, "prefix=few-&total=bounded");
    expect(few).toMatchObject({ total: UNDER, totalIsLowerBound: false });
    expect(few.items).toHaveLength(UNDER);
    const none = await list(kind, "prefix=none-&total=bounded");
    expect(none).toMatchObject({ total: 0, totalIsLowerBound: false, items: [] });
    const many = await list(kind, "prefix=many-&total=bounded");
    expect(many).toMatchObject({ total: TOTAL_BOUND, totalIsLowerBound: true, nextCursor: expect.any(String) });
    expect(many.items).toHaveLength(8);
    // the page is the same whatever the count
    expect(many.items).toEqual((await list(kind, "prefix=many-")).items);
  });

  it("an unknown counting mode is a 400 naming query.total", async () => {
    const res = await t.request({ method: "GET", url: `/v1/${kind}?orgId=${orgId}&total=approximate` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "VALIDATION_FAILED", details: [{ field: "query.total" }] });
    expect(res.json().message).toContain("query.total");
  });
});

describe(`bounded totals of unfiltered lists (${TEST_BACKEND})`, () => {
  it("are exact when the list keeps its count (users, groups): nothing to bound", async () => {
    for (const kind of ["users", "groups"]) {
      const page = await list(kind, "total=bounded");
      expect(page).toMatchObject({ total: OVER + UNDER, totalIsLowerBound: false });
    }
  });
});
