import type { AddressInfo } from "node:net";
import { ApiClient as V1Beta1 } from "@raystack/frontier/api-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createUserVia } from "../../../test/support/directory.ts";
import { bindBuiltinRole, uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";

// Raystack Frontier's own SDK (`@raystack/frontier`, its generated V1Beta1 REST client) against
// Gatehouse listening on loopback, authenticating with a user's API key as a Frontier bearer token.
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  t = await testApp();
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await t?.app.close();
});

/** The SDK throws the response (with `.error`, a google.rpc.Status) on a non-2xx answer. */
async function failure(call: Promise<unknown>): Promise<{ status: number; error: unknown }> {
  try {
    await call;
  } catch (thrown) {
    const res = thrown as { status: number; error: unknown };
    return { status: res.status, error: res.error };
  }
  throw new Error("the call succeeded");
}

it("serves the SDK's group calls, and answers what it does not serve with a google.rpc.Status", async () => {
  const owner = await createUserVia(t);
  await bindBuiltinRole(t.db, owner.id, owner.orgId, "directory-admin");
  const key = (
    await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: owner.id, name: "frontier-sdk" } })
  ).json().key as string;
  const member = await createUserVia(t);
  const sdk = new V1Beta1({ baseUrl, baseApiParams: { headers: { authorization: `Bearer ${key}` } } });
  const calls: { name: string; ok: boolean }[] = [];
  const step = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
      calls.push({ name, ok: true });
    } catch (err) {
      calls.push({ name, ok: false });
      throw err;
    }
  };

  const name = uniqueName("sdk").replaceAll(".", "_");
  let id = "";
  await step("CreateGroup", async () => {
    const res = await sdk.frontierServiceCreateGroup("default", { name, title: "SDK group", metadata: {} });
    expect(res.status).toBe(200);
    id = res.data.group?.id ?? "";
    expect(res.data.group?.name).toBe(name);
    expect(res.data.group?.users?.map((u) => u.id)).toEqual([owner.id]);
  });
  await step("ListOrganizationGroups", async () => {
    const res = await sdk.frontierServiceListOrganizationGroups("default", { with_member_count: true });
    expect(res.data.groups?.find((g) => g.id === id)?.members_count).toBe(1);
  });
  await step("GetGroup", async () => {
    const res = await sdk.frontierServiceGetGroup("default", id, { with_members: true });
    expect(res.data.group?.title).toBe("SDK group");
  });
  await step("UpdateGroup", async () => {
    const res = await sdk.frontierServiceUpdateGroup("default", id, { name, title: "renamed", metadata: {} });
    expect(res.data.group?.title).toBe("renamed");
  });
  await step("AddGroupUsers", async () => {
    const res = await sdk.frontierServiceAddGroupUsers("default", id, { user_ids: [member.id, owner.id] });
    expect(res.status).toBe(200);
  });
  await step("ListGroupUsers", async () => {
    const res = await sdk.frontierServiceListGroupUsers("default", id);
    expect(res.data.users?.map((u) => u.id).sort()).toEqual([owner.id, member.id].sort());
    // the owner kept its role when AddGroupUsers named it again
    expect(res.data.role_pairs?.find((p) => p.user_id === owner.id)?.roles?.[0]?.name).toBe("app_group_owner");
  });
  await step("ListUserGroups", async () => {
    const res = await sdk.frontierServiceListUserGroups(member.id, { org_id: "default" });
    expect(res.data.groups?.map((g) => g.id)).toContain(id);
  });
  await step("ListCurrentUserGroups", async () => {
    const res = await sdk.frontierServiceListCurrentUserGroups({ org_id: "default" });
    expect(res.data.groups?.map((g) => g.id)).toContain(id);
  });
  await step("RemoveGroupUser", async () => {
    expect((await sdk.frontierServiceRemoveGroupUser("default", id, member.id)).status).toBe(200);
    // not a member (any more): success without change, as the SDK documents
    expect((await sdk.frontierServiceRemoveGroupUser("default", id, member.id)).status).toBe(200);
  });
  await step("DisableGroup", async () => {
    expect((await sdk.frontierServiceDisableGroup("default", id, {})).status).toBe(200);
    const gone = await failure(sdk.frontierServiceGetGroup("default", id));
    expect(gone).toEqual({ status: 404, error: expect.objectContaining({ code: 5, details: [] }) });
  });
  await step("EnableGroup", async () => {
    expect((await sdk.frontierServiceEnableGroup("default", id, {})).status).toBe(200);
  });
  await step("DeleteGroup", async () => {
    expect((await sdk.frontierServiceDeleteGroup("default", id)).status).toBe(200);
  });
  // Not served: a google.rpc.Status 404 all the same, never Gatehouse's own error shape
  await step("ListOrganizations (not served)", async () => {
    const res = await failure(sdk.frontierServiceListOrganizations());
    expect(res).toEqual({ status: 404, error: { code: 5, message: "Not Found", details: [] } });
  });

  expect(calls.filter((c) => !c.ok)).toEqual([]);
  expect(calls).toHaveLength(13);
}, 120_000);
