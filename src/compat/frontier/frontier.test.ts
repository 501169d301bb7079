import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../../test/support/credentials.ts";
import { createOrgVia, createUserVia } from "../../../test/support/directory.ts";
import { bindBuiltinRole, uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";

let t: TestApp;
/** No credential headers: `t.request` sends the general PSK, which spans organisations. */
const admin: Record<string, string> = {};

beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.app.close());

const base = (org: string) => `/v1beta1/organizations/${org}/groups`;

/** A user of the default organisation holding `role`, with an API key; returns its id and key. */
async function userWithKey(role = "directory-admin") {
  const user = await createUserVia(t);
  await bindBuiltinRole(t.db, user.id, user.orgId, role);
  const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: "frontier" } });
  return { ...user, key: res.json().key as string };
}

async function create(org: string, body: Record<string, unknown>, headers = admin) {
  return t.request({ method: "POST", url: base(org), headers, payload: body });
}

describe(`Frontier groups (${TEST_BACKEND})`, () => {
  it("answers the seed's create request with 200 and the group; the group is native, with its owner", async () => {
    const owner = await userWithKey();
    const name = uniqueName("string").replaceAll(".", "_");
    const res = await create(
      "default",
      { name, title: "string", metadata: {} },
      { authorization: `Bearer ${owner.key}`, accept: "application/json" },
    );
    expect(res.statusCode, res.body).toBe(200);
    const { group } = res.json();
    expect(Object.keys(group).sort()).toEqual(
      ["created_at", "id", "members_count", "metadata", "name", "org_id", "title", "updated_at", "users"].sort(),
    );
    expect(group).toMatchObject({ name, title: "string", metadata: {}, members_count: 1 });
    expect(group.users).toEqual([
      expect.objectContaining({ id: owner.id, name: owner.username, state: "enabled", avatar: "" }),
    ]);
    const native = await t.request({ method: "GET", url: `/v1/groups/${group.id}` });
    expect(native.json()).toMatchObject({ id: group.id, name, title: "string", orgId: group.org_id });
    const members = await t.request({ method: "GET", url: `/v1/groups/${group.id}/members` });
    expect(members.json().items).toEqual([
      expect.objectContaining({ role: "owner", user: expect.objectContaining({ id: owner.id }) }),
    ]);
  });

  it("accepts the organisation's id or name, and 404s an unknown one", async () => {
    const org = await createOrgVia(t);
    const byName = await create(org.name, { name: "by-name" });
    expect(byName.statusCode, byName.body).toBe(200);
    expect(byName.json().group.org_id).toBe(org.id);
    const byId = await create(org.id, { name: "by-id" });
    expect(byId.json().group.org_id).toBe(org.id);
    const missing = await create("no-such-org", { name: "x1" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 5, details: [] });
    expect(missing.json().message).toContain("no-such-org");
  });

  it("enforces Frontier's name rule on this route with 400, code 3 and a BadRequest detail", async () => {
    for (const name of ["a", "has space", "sl/ash", "dot.ted"]) {
      const res = await create("default", { name });
      expect(res.statusCode, name).toBe(400);
      expect(res.json()).toMatchObject({
        code: 3,
        details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "name" }] }],
      });
    }
    const missing = await create("default", { title: "no name" });
    expect(missing.statusCode).toBe(400);
  });

  it("checks metadata against the organisation's group metaschema (400) and answers a taken name with 409", async () => {
    const org = await createOrgVia(t);
    const bad = await create(org.id, { name: "meta", metadata: { labels: { team: 7 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe(3);
    expect(bad.json().message).toContain("metadata schema validation failed");
    const ok = await create(org.id, { name: "meta", metadata: { labels: { team: "data" }, description: "d" } });
    expect(ok.statusCode).toBe(200);
    const again = await create(org.id, { name: "META" });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 6, details: [] });
  });

  it("lists, gets, updates, disables, enables and deletes", async () => {
    const org = await createOrgVia(t);
    const a = (await create(org.id, { name: "alpha", title: "Alpha" })).json().group;
    const b = (await create(org.id, { name: "beta" })).json().group;
    const list = await t.request({ method: "GET", url: `${base(org.name)}?with_member_count=true`, headers: admin });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().groups.map((g: { name: string }) => g.name)).toEqual(["alpha", "beta"]);
    expect(list.json().groups[0].members_count).toBe(0);
    expect(list.json().groups[0].users).toBeUndefined();
    const filtered = await t.request({ method: "GET", url: `${base(org.id)}?group_ids=${b.id}`, headers: admin });
    expect(filtered.json().groups.map((g: { id: string }) => g.id)).toEqual([b.id]);

    const put = await t.request({
      method: "PUT",
      url: `${base(org.id)}/${a.id}`,
      headers: admin,
      payload: { name: "alpha-2", title: "Alpha 2", metadata: { description: "renamed" } },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().group).toMatchObject({ name: "alpha-2", title: "Alpha 2", metadata: { description: "renamed" } });

    const disable = await t.request({ method: "POST", url: `${base(org.id)}/${a.id}/disable`, headers: admin });
    expect(disable.statusCode).toBe(200);
    expect(disable.json()).toEqual({});
    expect((await t.request({ method: "GET", url: `${base(org.id)}/${a.id}`, headers: admin })).statusCode).toBe(404);
    const disabled = await t.request({ method: "GET", url: `${base(org.id)}?state=disabled`, headers: admin });
    expect(disabled.json().groups).toEqual([
      expect.objectContaining({ id: a.id, metadata: { description: "renamed" } }),
    ]);
    const enabled = await t.request({ method: "GET", url: `${base(org.id)}?state=enabled`, headers: admin });
    expect(enabled.json().groups.map((g: { id: string }) => g.id)).toEqual([b.id]);
    await t.request({ method: "POST", url: `${base(org.id)}/${a.id}/enable`, headers: admin });
    const got = await t.request({ method: "GET", url: `${base(org.id)}/${a.id}?with_members=true`, headers: admin });
    expect(got.statusCode).toBe(200);
    expect(got.json().group).toMatchObject({ id: a.id, users: [], members_count: 0 });

    const other = await createOrgVia(t);
    expect((await t.request({ method: "GET", url: `${base(other.id)}/${a.id}`, headers: admin })).statusCode).toBe(404);
    // Scripts often send a JSON content type on every call; grpc-gateway takes an empty body then.
    const del = await t.request({
      method: "DELETE",
      url: `${base(org.id)}/${a.id}`,
      headers: { ...admin, "content-type": "application/json" },
    });
    expect(del.statusCode, del.body).toBe(200);
    expect((await t.request({ method: "GET", url: `/v1/groups/${a.id}` })).statusCode).toBe(404);
    const gone = await t.request({ method: "DELETE", url: `${base(org.id)}/${a.id}`, headers: admin });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe(5);
  });

  it("lists a group's users with role pairs, removes users and refuses to remove the last owner", async () => {
    const owner = await userWithKey();
    const asOwner = { authorization: `Bearer ${owner.key}` };
    const group = (await create("default", { name: uniqueName("team").replaceAll(".", "_") }, asOwner)).json().group;
    const member = await createUserVia(t);
    await t.request({ method: "PUT", url: `/v1/groups/${group.id}/members/${member.id}` });
    const users = await t.request({ method: "GET", url: `${base("default")}/${group.id}/users`, headers: asOwner });
    expect(users.statusCode, users.body).toBe(200);
    expect(users.json().users).toHaveLength(2);
    const pairs = Object.fromEntries(
      users.json().role_pairs.map((p: { user_id: string; roles: { name: string }[] }) => [p.user_id, p.roles[0]?.name]),
    );
    expect(pairs).toEqual({ [owner.id]: "app_group_owner", [member.id]: "app_group_member" });

    const mine = await t.request({ method: "GET", url: "/v1beta1/users/self/groups?org_id=default", headers: asOwner });
    expect(mine.json().groups.map((g: { id: string }) => g.id)).toContain(group.id);
    const theirs = await t.request({ method: "GET", url: `/v1beta1/users/${member.id}/groups`, headers: admin });
    expect(theirs.json().groups.map((g: { id: string }) => g.id)).toEqual([group.id]);

    const lastOwner = await t.request({
      method: "DELETE",
      url: `${base("default")}/${group.id}/users/${owner.id}`,
      headers: admin,
    });
    expect(lastOwner.statusCode).toBe(400);
    expect(lastOwner.json().code).toBe(3);
    const remove = await t.request({
      method: "DELETE",
      url: `${base("default")}/${group.id}/users/${member.id}`,
      headers: { ...admin, "content-type": "application/json" },
    });
    expect(remove.statusCode, remove.body).toBe(200);
    const notMember = await t.request({
      method: "DELETE",
      url: `${base("default")}/${group.id}/users/${member.id}`,
      headers: admin,
    });
    // not a member: success without change, as Frontier's SDK documents
    expect(notMember.statusCode, notMember.body).toBe(200);
    expect(notMember.json()).toEqual({});
  });

  it("answers an unknown /v1beta1 path with a google.rpc.Status, as grpc-gateway does", async () => {
    const res = await t.request({ method: "GET", url: "/v1beta1/organizations/default/projects", headers: admin });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: 5, message: "Not Found", details: [] });
    const elsewhere = await t.request({ method: "GET", url: "/v1/no-such-route" });
    expect(elsewhere.json().code).toBe("ROUTE_NOT_FOUND");
  });

  it("authenticates with Basic client credentials and bearer api keys; 401 and 403 in Frontier's shape", async () => {
    const none = await t.app.inject({
      method: "POST",
      url: base("default"),
      payload: { name: "nobody" },
      remoteAddress: "10.7.0.1",
    });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("Basic");
    expect(none.json()).toMatchObject({ code: 16, details: [] });
    const wrong = await t.app.inject({
      method: "GET",
      url: base("default"),
      headers: { authorization: `Basic ${Buffer.from("nope:nope").toString("base64")}` },
      remoteAddress: "10.7.0.2",
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe(16);
    const sa = await serviceAccountHeaders(t, ["directory-admin"]);
    const made = await create("default", { name: uniqueName("sa").replaceAll(".", "_") }, sa);
    expect(made.statusCode, made.body).toBe(200);
    expect(made.json().group.users).toEqual([]);
    const viewer = await serviceAccountHeaders(t, ["viewer"]);
    expect((await t.request({ method: "GET", url: base("default"), headers: viewer })).statusCode).toBe(200);
    const denied = await create("default", { name: "viewer-made" }, viewer);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 7, details: [] });
    const other = await createOrgVia(t);
    const crossOrg = await t.request({ method: "GET", url: base(other.id), headers: sa });
    expect(crossOrg.statusCode).toBe(403);
  });
});
