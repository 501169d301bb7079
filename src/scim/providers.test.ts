import { beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { filterQuery, scimClient } from "../../test/support/scim.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

// The request sequences Microsoft Entra ID and Okta document for SCIM provisioning (docs/scim.md),
// replayed against the server, with the shapes each provider really sends.

const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

let t: TestApp;
let scim: Awaited<ReturnType<typeof scimClient>>;
beforeAll(async () => {
  t = await testApp();
  scim = await scimClient(t); // the default organisation, where the decision test's service lives
});

const ids = (members: { value: string }[] | undefined) => (members ?? []).map((m) => m.value).sort();

describe(`identity providers' SCIM sequences (${TEST_BACKEND})`, () => {
  it("Microsoft Entra ID: users", async () => {
    const userName = `Test_User_${uniqueName("entra")}`;
    const missing = await scim.call("GET", `/Users?${filterQuery(`userName eq "${userName}"`)}`);
    expect(missing.json()).toMatchObject({ totalResults: 0, Resources: [] });
    const body = {
      schemas: [CORE_USER, ENTERPRISE],
      externalId: uniqueName("0a21f0f2"),
      userName,
      active: true,
      emails: [{ primary: true, type: "work", value: `${userName}@testuser.com` }],
      meta: { resourceType: "User" },
      name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
      roles: [],
    };
    const created = await scim.call("POST", "/Users", body);
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect((await scim.call("GET", `/Users/${id}`)).json()).toMatchObject({ userName, active: true });
    const found = await scim.call("GET", `/Users?${filterQuery(`userName eq "${userName}"`)}`);
    expect(found.json()).toMatchObject({ totalResults: 1, Resources: [{ id }] });
    expect((await scim.call("POST", "/Users", body)).json()).toMatchObject({ status: "409", scimType: "uniqueness" });

    const updated = await scim.call("PATCH", `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "Replace", path: 'emails[type eq "work"].value', value: `updated-${userName}@microsoft.com` },
        { op: "Replace", path: "name.familyName", value: "updatedFamilyName" },
        { op: "Add", path: `${ENTERPRISE}:department`, value: "Finance" },
        { op: "Add", path: `${ENTERPRISE}:manager`, value: "3b1f9a2c-0000-4000-8000-000000000001" },
      ],
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({
      emails: [{ type: "work", value: `updated-${userName}@microsoft.com`, primary: true }],
      name: { familyName: "updatedFamilyName", givenName: "givenName" },
      [ENTERPRISE]: { department: "Finance" },
    });
    const native = (await t.request({ method: "GET", url: `/v1/users/${id}` })).json();
    expect(native.email).toBe(`updated-${userName}@microsoft.com`);

    // a path-less Replace whose keys are paths, and `active` as the string "False"
    const renamed = `${userName}-renamed`;
    const path = await scim.call("PATCH", `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Replace", value: { userName: renamed, "name.givenName": "Grace" } }],
    });
    expect(path.json()).toMatchObject({ userName: renamed, name: { givenName: "Grace" } });
    const disabled = await scim.call("PATCH", `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Replace", path: "active", value: "False" }],
    });
    expect(disabled.json().active).toBe(false);
    expect((await t.request({ method: "GET", url: `/v1/users/${id}` })).json().status).toBe("disabled");
    expect((await scim.call("DELETE", `/Users/${id}`)).statusCode).toBe(204);
    expect((await scim.call("GET", `/Users/${id}`)).statusCode).toBe(404);
  });

  it("Microsoft Entra ID: groups", async () => {
    const users = [];
    for (let i = 0; i < 3; i++) {
      users.push((await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: uniqueName("member") })).json());
    }
    const displayName = uniqueName("displayName");
    const created = await scim.call("POST", "/Groups", {
      schemas: [GROUP],
      externalId: uniqueName("8aa1a0c0"),
      displayName,
      meta: { resourceType: "Group" },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json().members).toEqual([]);
    const one = (await scim.call("GET", `/Groups/${id}?excludedAttributes=members`)).json();
    expect(one).toMatchObject({ id, displayName });
    expect(one.members).toBeUndefined();
    const listed = await scim.call(
      "GET",
      `/Groups?excludedAttributes=members&${filterQuery(`displayName eq "${displayName}"`)}`,
    );
    expect(listed.json()).toMatchObject({ totalResults: 1, Resources: [{ id, displayName }] });

    const newName = `${displayName}updatedDisplayName`;
    const rename = await scim.call("PATCH", `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Replace", path: "displayName", value: newName }],
    });
    expect(rename.statusCode).toBe(204);
    const add = await scim.call("PATCH", `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Add", path: "members", value: users.map((u) => ({ $ref: null, value: u.id })) }],
    });
    expect(add.statusCode).toBe(204);
    const remove = await scim.call("PATCH", `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Remove", path: "members", value: [{ $ref: null, value: users[0].id }] }],
    });
    expect(remove.statusCode).toBe(204);
    const byFilter = await scim.call("PATCH", `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Remove", path: `members[value eq "${users[1].id}"]` }],
    });
    expect(byFilter.statusCode).toBe(204);
    const after = (await scim.call("GET", `/Groups/${id}`)).json();
    expect(after.displayName).toBe(newName);
    expect(ids(after.members)).toEqual([users[2].id]);
    const membership = await scim.call(
      "GET",
      `/Groups?excludedAttributes=members&${filterQuery(`id eq "${id}" and members[value eq "${users[2].id}"]`)}`,
    );
    expect(membership.json().totalResults).toBe(1);
    expect((await scim.call("DELETE", `/Groups/${id}`)).statusCode).toBe(204);
  });

  it("Okta: users and groups", async () => {
    const userName = `${uniqueName("test.user")}@okta.local`;
    const search = await scim.call("GET", `/Users?${filterQuery(`userName eq "${userName}"`)}&startIndex=1&count=100`);
    expect(search.json()).toMatchObject({ totalResults: 0, startIndex: 1 });
    const profile = {
      schemas: [CORE_USER],
      userName,
      name: { givenName: "Test", familyName: "User" },
      emails: [{ primary: true, value: userName, type: "work" }],
      displayName: "Test User",
      locale: "en-US",
      externalId: uniqueName("00ujl29u0le5T6Aj10h7"),
      groups: [],
      password: "1mz050nq",
      active: true,
    };
    const created = await scim.call("POST", "/Users", profile);
    expect(created.statusCode).toBe(201);
    const user = created.json();
    expect(user.password).toBeUndefined();
    // profile updates: a full PUT of the user as Okta holds it
    const put = await scim.call("PUT", `/Users/${user.id}`, {
      ...profile,
      id: user.id,
      name: { givenName: "Another", familyName: "User" },
      meta: user.meta,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ name: { givenName: "Another", familyName: "User" }, locale: "en-US" });
    // deactivation and reactivation: a path-less replace
    const off = await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ id: user.id, active: false });
    const on = await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { active: true } }],
    });
    expect(on.json().active).toBe(true);

    // import: pages of 100 until totalResults is reached
    const members = [user];
    for (let i = 0; i < 2; i++) {
      members.push((await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: uniqueName("okta") })).json());
    }
    let seen = 0;
    let total = 0;
    for (let start = 1; ; start += 100) {
      const page = (await scim.call("GET", `/Users?startIndex=${start}&count=100`)).json();
      total = page.totalResults;
      seen += page.Resources.length;
      if (page.Resources.length < 100) break;
    }
    expect(seen).toBe(total);

    // groups: create, rename with every membership change, full replace of members
    const displayName = uniqueName("Test SCIMv2");
    const found = await scim.call(
      "GET",
      `/Groups?${filterQuery(`displayName eq "${displayName}"`)}&startIndex=1&count=100`,
    );
    expect(found.json().totalResults).toBe(0);
    const group = (await scim.call("POST", "/Groups", { schemas: [GROUP], displayName, members: [] })).json();
    const renamed = `${displayName} new`;
    const push = await scim.call("PATCH", `/Groups/${group.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "replace", value: { id: group.id, displayName: renamed } },
        { op: "add", path: "members", value: members.map((m) => ({ value: m.id, display: m.userName })) },
      ],
    });
    expect(push.statusCode).toBe(204);
    const push2 = await scim.call("PATCH", `/Groups/${group.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "replace", value: { id: group.id, displayName: renamed } },
        { op: "remove", path: `members[value eq "${members[0].id}"]` },
      ],
    });
    expect(push2.statusCode).toBe(204);
    let now = (await scim.call("GET", `/Groups/${group.id}`)).json();
    expect(now.displayName).toBe(renamed);
    expect(ids(now.members)).toEqual([members[1].id, members[2].id].sort());
    const replace = await scim.call("PATCH", `/Groups/${group.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { members: [{ value: members[0].id }] } }],
    });
    expect(replace.statusCode).toBe(204);
    now = (await scim.call("GET", `/Groups/${group.id}`)).json();
    expect(ids(now.members)).toEqual([members[0].id]);
    const full = await scim.call("PUT", `/Groups/${group.id}`, {
      schemas: [GROUP],
      id: group.id,
      displayName: renamed,
      members: [{ value: members[1].id }, { value: members[2].id }],
    });
    expect(full.statusCode).toBe(200);
    expect(ids(full.json().members)).toEqual([members[1].id, members[2].id].sort());
    expect((await scim.call("DELETE", `/Groups/${group.id}`)).statusCode).toBe(204);
  });

  it("a deactivated user's decisions deny at once, and follow reactivation", async () => {
    const service = uniqueName("svc");
    expect(
      (await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } })).statusCode,
    ).toBe(201);
    const user = (await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: uniqueName("analyst") })).json();
    const group = (
      await scim.call("POST", "/Groups", {
        schemas: [GROUP],
        displayName: uniqueName("analysts"),
        members: [{ value: user.id }],
      })
    ).json();
    const policy = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: {
        name: uniqueName("p"),
        resources: { catalog: { values: ["sales"] }, schema: { values: ["eu"] }, table: { values: ["*"] } },
        policyItems: [{ groups: [group.displayName], accesses: [{ type: "select" }] }],
      },
    });
    expect(policy.statusCode).toBe(201);
    const decide = () =>
      t.request({
        method: "POST",
        url: "/v1/decisions",
        payload: {
          service,
          user: user.userName,
          resource: { catalog: "sales", schema: "eu", table: "t" },
          accessType: "select",
        },
      });
    expect((await decide()).json()).toMatchObject({ allowed: true });
    // Entra ID's deactivation: the very next decision no longer finds the user's groups
    await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Replace", path: "active", value: "False" }],
    });
    const denied = await decide();
    expect(denied.json().allowed).not.toBe(true);
    expect(denied.json()).toMatchObject({ code: "DECISION_USER_UNKNOWN" });
    await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { active: true } }],
    });
    expect((await decide()).json()).toMatchObject({ allowed: true });
    // a membership removed through SCIM stops access too
    await scim.call("PATCH", `/Groups/${group.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Remove", path: "members", value: [{ value: user.id }] }],
    });
    expect((await decide()).json()).toMatchObject({ allowed: false });
  });
});
