import type { AddressInfo } from "node:net";
import { ApiClient as V1Beta1 } from "@raystack/frontier/api-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../../test/support/credentials.ts";
import { createUserVia } from "../../../test/support/directory.ts";
import { bindBuiltinRole, uniqueName } from "../../../test/support/factories.ts";
import { TEST_PSK, type TestApp, testApp } from "../../../test/support/test-app.ts";

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

/** Records each SDK call's outcome, so the test can report how many it exercised. */
function stepper() {
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
  return { calls, step };
}

/** A user of `orgId` holding `directory-admin` there, and an SDK client on its API key. */
async function adminClient(orgId?: string) {
  const user = await createUserVia(t, orgId ? { orgId } : {});
  await bindBuiltinRole(t.db, user.id, user.orgId, "directory-admin");
  const res = await t.request({
    method: "POST",
    url: "/v1/api-keys",
    payload: { userId: user.id, name: "frontier-sdk" },
  });
  expect(res.statusCode, res.body).toBe(201);
  const key = res.json().key as string;
  return { user, sdk: new V1Beta1({ baseUrl, baseApiParams: { headers: { authorization: `Bearer ${key}` } } }) };
}

it("serves the SDK's group calls, and answers what it does not serve with a google.rpc.Status", async () => {
  const owner = await createUserVia(t);
  await bindBuiltinRole(t.db, owner.id, owner.orgId, "directory-admin");
  const key = (
    await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: owner.id, name: "frontier-sdk" } })
  ).json().key as string;
  const member = await createUserVia(t);
  const sdk = new V1Beta1({ baseUrl, baseApiParams: { headers: { authorization: `Bearer ${key}` } } });
  const { calls, step } = stepper();

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
  await step("ListProjectsByUser (not served)", async () => {
    const res = await failure(sdk.frontierServiceListProjectsByUser(owner.id));
    expect(res).toEqual({ status: 404, error: { code: 5, message: "Not Found", details: [] } });
  });

  expect(calls.filter((c) => !c.ok)).toEqual([]);
  expect(calls).toHaveLength(13);
}, 120_000);

it("serves the SDK's organisation, current-user and metaschema calls over the native directory", async () => {
  const { calls, step } = stepper();
  const psk = new V1Beta1({ baseUrl, baseApiParams: { headers: { "authorization-psk": TEST_PSK } } });
  const name = uniqueName("sdkorg").replaceAll(".", "_");
  let orgId = "";
  await step("CreateOrganization", async () => {
    const res = await psk.frontierServiceCreateOrganization({ name, title: "SDK org", metadata: { k: "v" } });
    expect(res.status).toBe(200);
    orgId = res.data.organization?.id ?? "";
    expect(res.data.organization).toMatchObject({ name, title: "SDK org", metadata: { k: "v" }, state: "enabled" });
    expect(Date.parse(res.data.organization?.created_at ?? "")).not.toBeNaN();
    // audited in the same transaction, as the native route
    const audit = await t.db.kysely
      .selectFrom("audit_events")
      .where("action", "=", "org.created")
      .where("target_id", "=", orgId)
      .select("id")
      .execute();
    expect(audit).toHaveLength(1);
    const again = await failure(psk.frontierServiceCreateOrganization({ name: name.toUpperCase() }));
    expect(again).toMatchObject({ status: 409, error: { code: 6, details: [] } });
    const avatar = await failure(
      psk.frontierServiceCreateOrganization({ name: `${name}_a`, avatar: "data:image/png;base64,iVBO" }),
    );
    expect(avatar).toMatchObject({ status: 501, error: { code: 12 } });
  });
  const { user, sdk } = await adminClient(orgId);
  await step("GetOrganization", async () => {
    expect((await sdk.frontierServiceGetOrganization(orgId)).data.organization?.name).toBe(name);
    expect((await sdk.frontierServiceGetOrganization(name)).data.organization?.id).toBe(orgId);
    const other = await failure(sdk.frontierServiceGetOrganization("default"));
    expect(other).toMatchObject({ status: 403, error: { code: 7, details: [] } });
    const missing = await failure(psk.frontierServiceGetOrganization("no-such-org"));
    expect(missing).toMatchObject({ status: 404, error: { code: 5, details: [] } });
  });
  await step("UpdateOrganization", async () => {
    const res = await sdk.frontierServiceUpdateOrganization(orgId, { name, title: "Renamed", metadata: { a: 1 } });
    expect(res.data.organization).toMatchObject({ id: orgId, name, title: "Renamed", metadata: { a: 1 } });
    const rename = await failure(sdk.frontierServiceUpdateOrganization(orgId, { name: `${name}_x` }));
    expect(rename).toMatchObject({ status: 501, error: { code: 12 } });
  });
  await step("ListOrganizations", async () => {
    // an organisation-bound key sees its own organisation only; the PSK sees them all
    const own = await sdk.frontierServiceListOrganizations();
    expect(own.data.organizations?.map((o) => o.id)).toEqual([orgId]);
    const all = await psk.frontierServiceListOrganizations({ page_size: 10_000 });
    expect(all.data.organizations?.map((o) => o.name)).toEqual(expect.arrayContaining([name, "default"]));
    const byUser = await psk.frontierServiceListOrganizations({ user_id: user.id });
    expect(byUser.data.organizations?.map((o) => o.id)).toEqual([orgId]);
    expect((await psk.frontierServiceListOrganizations({ state: "disabled" })).data.organizations).toEqual([]);
  });
  await step("ListOrganizationUsers", async () => {
    const plain = await createUserVia(t, { orgId });
    const res = await sdk.frontierServiceListOrganizationUsers(orgId, { with_roles: true });
    expect(res.data.users?.map((u) => u.id).sort()).toEqual([user.id, plain.id].sort());
    const pair = res.data.role_pairs?.find((p) => p.user_id === user.id);
    expect(pair?.roles?.map((r) => r.name)).toEqual(["directory-admin"]);
    const admins = await sdk.frontierServiceListOrganizationUsers(orgId, { role_filters: ["directory-admin"] });
    expect(admins.data.users?.map((u) => u.id)).toEqual([user.id]);
    const perm = await failure(sdk.frontierServiceListOrganizationUsers(orgId, { permission_filter: "get" }));
    expect(perm).toMatchObject({ status: 501, error: { code: 12 } });
  });
  await step("ListOrganizationsByCurrentUser", async () => {
    const res = await sdk.frontierServiceListOrganizationsByCurrentUser();
    expect(res.data.organizations?.map((o) => o.id)).toEqual([orgId]);
    expect(res.data.joinable_via_domain).toEqual([]);
  });
  await step("GetCurrentUser", async () => {
    const res = await sdk.frontierServiceGetCurrentUser();
    expect(res.data.user).toMatchObject({ id: user.id, name: user.username, state: "enabled" });
    expect(res.data.serviceuser).toBeUndefined();
    const sa = new V1Beta1({ baseUrl, baseApiParams: { headers: await serviceAccountHeaders(t, ["viewer"]) } });
    const asSa = await sa.frontierServiceGetCurrentUser();
    expect(asSa.data.user).toBeUndefined();
    expect(asSa.data.serviceuser).toMatchObject({ state: "enabled", org_id: expect.any(String) });
    // the general PSK is no Frontier principal: unauthenticated, as Frontier answers
    const none = await failure(psk.frontierServiceGetCurrentUser());
    expect(none).toMatchObject({ status: 401, error: { code: 16, details: [] } });
  });

  // Metaschemas: the caller's organisation's group metaschema
  let schemaId = "";
  await step("ListMetaSchemas", async () => {
    const res = await sdk.frontierServiceListMetaSchemas();
    expect(res.data.metaschemas?.map((m) => m.name)).toEqual(["group"]);
    schemaId = res.data.metaschemas?.[0]?.id ?? "";
    expect(JSON.parse(res.data.metaschemas?.[0]?.schema ?? "{}").properties.labels).toBeDefined();
  });
  const strict = { type: "object", required: ["team"], properties: { team: { type: "string" } } };
  await step("CreateMetaSchema", async () => {
    const res = await sdk.frontierServiceCreateMetaSchema({ name: "group", schema: JSON.stringify(strict) });
    expect(res.data.metaschema).toMatchObject({ id: schemaId, name: "group" });
    expect(JSON.parse(res.data.metaschema?.schema ?? "")).toEqual(strict);
    const again = await failure(sdk.frontierServiceCreateMetaSchema({ name: "group", schema: "{}" }));
    expect(again).toMatchObject({ status: 409, error: { code: 6 } });
    const user = await failure(sdk.frontierServiceCreateMetaSchema({ name: "user", schema: "{}" }));
    expect(user).toMatchObject({ status: 501, error: { code: 12, details: [] } });
    const notObject = await failure(sdk.frontierServiceUpdateMetaSchema(schemaId, { name: "group", schema: "[1]" }));
    expect(notObject).toMatchObject({ status: 400, error: { code: 3 } });
    // the new schema now guards group metadata
    const bad = await failure(sdk.frontierServiceCreateGroup(orgId, { name: "nogroup", metadata: {} }));
    expect(bad).toMatchObject({ status: 400, error: { code: 3 } });
    const good = await sdk.frontierServiceCreateGroup(orgId, { name: "teamgroup", metadata: { team: "x" } });
    expect(good.status).toBe(200);
  });
  await step("GetMetaSchema", async () => {
    const byId = await sdk.frontierServiceGetMetaSchema(schemaId);
    expect(JSON.parse(byId.data.metaschema?.schema ?? "")).toEqual(strict);
    expect((await sdk.frontierServiceGetMetaSchema("group")).data.metaschema?.id).toBe(schemaId);
    const missing = await failure(sdk.frontierServiceGetMetaSchema("00000000-0000-4000-8000-000000000000"));
    expect(missing).toMatchObject({ status: 404, error: { code: 5 } });
  });
  await step("UpdateMetaSchema", async () => {
    const loose = { type: "object", properties: { team: { type: "string" } } };
    const res = await sdk.frontierServiceUpdateMetaSchema(schemaId, { name: "group", schema: JSON.stringify(loose) });
    expect(JSON.parse(res.data.metaschema?.schema ?? "")).toEqual(loose);
    const native = await t.request({ method: "GET", url: `/v1/orgs/${orgId}/metaschemas/group` });
    expect(native.json()).toEqual(loose);
  });
  await step("DeleteMetaSchema", async () => {
    expect((await sdk.frontierServiceDeleteMetaSchema(schemaId)).status).toBe(200);
    // Gatehouse always validates group metadata: the built-in default is back
    const res = await sdk.frontierServiceGetMetaSchema(schemaId);
    expect(JSON.parse(res.data.metaschema?.schema ?? "").properties.labels).toBeDefined();
    const audit = await t.db.kysely
      .selectFrom("audit_events")
      .where("action", "=", "metaschema.updated")
      .where("target_id", "=", `${orgId}/group`)
      .select("id")
      .execute();
    expect(audit).toHaveLength(3);
  });

  expect(calls.filter((c) => !c.ok)).toEqual([]);
  expect(calls).toHaveLength(12);
}, 120_000);
