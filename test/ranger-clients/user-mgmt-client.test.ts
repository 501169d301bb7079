import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { uniqueName } from "../support/factories.ts";
import { runRangerDriver } from "../support/ranger-python.ts";
import { type TestApp, testApp } from "../support/test-app.ts";

// Apache Ranger's own RangerUserMgmtClient (../shared/clients, unchanged) against a listening
// Gatehouse: every public method is called and its result checked by user_mgmt_client.py.

const METHODS = [
  "create_user",
  "get_user_by_id",
  "update_user_by_id",
  "find_users",
  "get_user",
  "create_group",
  "get_group_by_id",
  "update_group_by_id",
  "find_groups",
  "get_group",
  "create_group_user",
  "find_group_users",
  "get_groups_for_user",
  "get_group_users_for_group",
  "get_users_in_group",
  "update_group_user",
  "delete_group_user_by_id",
  "delete_group_by_id",
  "delete_user_by_id",
];

let t: TestApp;
let url: string;
beforeAll(async () => {
  t = await testApp();
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}, 180_000); // building the app under a loaded test machine can take a while
afterAll(async () => {
  await t.app.close();
});

it("serves every RangerUserMgmtClient method, checked on its results", async () => {
  const res = await t.request({
    method: "POST",
    url: "/v1/service-accounts",
    payload: { name: uniqueName("usersync"), roles: ["directory-admin"] },
  });
  expect(res.statusCode, res.body).toBe(201);
  const { clientId, clientSecret } = res.json() as { clientId: string; clientSecret: string };
  const run = await runRangerDriver(
    "user_mgmt_client.py",
    url,
    { user: clientId, password: clientSecret },
    { GATEHOUSE_RUN: uniqueName("r") },
  );
  const failed = run.results.filter((r) => !r.ok);
  expect(failed, run.log).toEqual([]);
  expect(run.results.map((r) => r.method)).toEqual(METHODS);
  expect(run.exitCode, run.log).toBe(0);
}, 60_000);
