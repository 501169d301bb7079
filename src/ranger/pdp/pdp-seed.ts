import { expect } from "vitest";
import { uniqueName } from "../../../test/support/factories.ts";
import type { TestApp } from "../../../test/support/test-app.ts";

/**
 * A hive service shaped like Ranger's PDP examples (`table:default/test_tbl1`, columns id, name,
 * email): analysts may select and create on test_tbl1, see its rows filtered by department and
 * its `email` column hashed; nobody may touch `test_vw1`. Alice is an analyst, bob is not.
 */
export async function seedHiveService(t: TestApp) {
  const service = uniqueName("dev_hive");
  const analysts = uniqueName("analysts");
  const alice = uniqueName("alice");
  const bob = uniqueName("bob");
  const ok = async (url: string, payload: object | undefined, status = 201) => {
    const res = await t.request({ method: url.includes("/members/") ? "PUT" : "POST", url, payload });
    expect(res.statusCode, res.body).toBe(status);
    return res.json();
  };
  await ok("/v1/services", { name: service, type: "hive" });
  const group = await ok("/v1/groups", { name: analysts });
  const a = await ok("/v1/users", { username: alice });
  await ok("/v1/users", { username: bob });
  await ok(`/v1/groups/${group.id}/members/${a.id}`, undefined);
  const table = { database: { values: ["default"] }, table: { values: ["test_tbl1"] } };
  const access = await ok(`/v1/services/${service}/policies`, {
    name: uniqueName("tbl1"),
    resources: { ...table, column: { values: ["*"] } },
    policyItems: [{ groups: [analysts], accesses: [{ type: "select" }, { type: "create" }] }],
  });
  const rowFilter = await ok(`/v1/services/${service}/policies`, {
    name: uniqueName("rf"),
    policyType: 2,
    resources: table,
    policyItems: [],
    rowFilterPolicyItems: [
      { groups: [analysts], accesses: [{ type: "select" }], rowFilterInfo: { filterExpr: "dept = 'mktg'" } },
    ],
  });
  const mask = await ok(`/v1/services/${service}/policies`, {
    name: uniqueName("mask"),
    policyType: 1,
    resources: { ...table, column: { values: ["email"] } },
    policyItems: [],
    dataMaskPolicyItems: [
      { groups: [analysts], accesses: [{ type: "select" }], dataMaskInfo: { dataMaskType: "MASK_HASH" } },
    ],
  });
  return {
    service,
    analysts,
    alice,
    bob,
    accessPolicyId: access.id as number,
    rowFilterPolicyId: rowFilter.id as number,
    maskPolicyId: mask.id as number,
  };
}
