import { beforeAll, describe, expect, it } from "vitest";
import { buildOrg, uniqueName } from "../../test/support/factories.ts";
import { filterQuery, scimClient } from "../../test/support/scim.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";

let t: TestApp;
let scim: Awaited<ReturnType<typeof scimClient>>;
beforeAll(async () => {
  t = await testApp();
  const org = await buildOrg(t.db);
  scim = await scimClient(t, org.id);
});

describe(`SCIM 2.0 server (${TEST_BACKEND})`, () => {
  it("creates, reads, filters, pages, replaces, patches and deletes users", async () => {
    const name = uniqueName("Ada");
    const created = await scim.call("POST", "/Users", {
      schemas: [CORE_USER, ENTERPRISE],
      userName: name,
      externalId: `ext-${name}`,
      name: { givenName: "Ada", familyName: "Lovelace" },
      displayName: "Ada Lovelace",
      emails: [{ value: `${name}@example.com`, type: "work", primary: true }],
      password: "never-stored",
      [ENTERPRISE]: { department: "Engineering", employeeNumber: "42" },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers["content-type"]).toContain("application/scim+json");
    const user = created.json();
    expect(user).toMatchObject({
      schemas: [CORE_USER, ENTERPRISE],
      userName: name,
      active: true,
      groups: [],
      meta: { resourceType: "User", location: expect.stringContaining(`/scim/v2/Users/${user.id}`) },
    });
    expect(user.password).toBeUndefined();
    expect(created.headers.etag).toBe(user.meta.version);
    expect(created.headers.location).toBe(user.meta.location);

    // the native directory holds it, marked as provisioned by SCIM
    const native = (await t.request({ method: "GET", url: `/v1/users/${user.id}` })).json();
    expect(native).toMatchObject({
      username: name,
      source: "scim",
      externalId: `ext-${name}`,
      email: `${name}@example.com`,
    });
    const marked = await t.db.kysely
      .selectFrom("users")
      .where("id", "=", user.id)
      .select("scim_client_id")
      .executeTakeFirstOrThrow();
    expect(marked.scim_client_id).toBe(scim.id);

    // uniqueness is case-insensitive, in SCIM's error shape
    const dup = await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: name.toUpperCase() });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ schemas: [ERROR], status: "409", scimType: "uniqueness" });

    // filters, each answered by SQL
    for (const [filter, hits] of [
      [`userName eq "${name.toUpperCase()}"`, 1],
      [`userName sw "${name.slice(0, 6)}" and externalId eq "ext-${name}"`, 1],
      [`emails.value eq "${name}@EXAMPLE.com"`, 1],
      [`emails[type eq "work" and value co "${name.slice(4)}"]`, 1],
      [`displayName co "lovelace" or userName eq "nobody"`, 1],
      [`externalId pr and not (userName ne "${name}")`, 1],
      [`${ENTERPRISE}:department eq "engineering"`, 1],
      [`name.familyName eq "Lovelace" and meta.lastModified gt "2000-01-01T00:00:00Z"`, 1],
      [`meta.lastModified lt "2000-01-01T00:00:00Z"`, 0],
      [`externalId eq "EXT-${name}"`, 0], // externalId is case-exact
      [`active eq true and userName eq "${name}"`, 1],
    ] as const) {
      const list = await scim.call("GET", `/Users?${filterQuery(filter)}`);
      expect(list.statusCode, filter).toBe(200);
      expect(list.json().totalResults, filter).toBe(hits);
    }
    const badFilter = await scim.call("GET", `/Users?${filterQuery("userName eq")}`);
    expect(badFilter.statusCode).toBe(400);
    expect(badFilter.json()).toMatchObject({ status: "400", scimType: "invalidFilter" });
    const unknownAttr = await scim.call("GET", `/Users?${filterQuery('shoeSize eq "9"')}`);
    expect(unknownAttr.json()).toMatchObject({
      scimType: "invalidFilter",
      detail: expect.stringContaining("shoeSize"),
    });

    // attributes and excludedAttributes
    const only = (await scim.call("GET", `/Users/${user.id}?attributes=userName,name.givenName`)).json();
    expect(only).toEqual({
      schemas: user.schemas,
      id: user.id,
      userName: name,
      name: { givenName: "Ada" },
      meta: expect.any(Object),
    });
    const without = (await scim.call("GET", `/Users/${user.id}?excludedAttributes=emails,groups`)).json();
    expect(without.emails).toBeUndefined();
    expect(without.groups).toBeUndefined();
    expect(without.userName).toBe(name);

    // ETags: a stale If-Match is refused with 412, the current one passes
    const stale = user.meta.version as string;
    const put = await scim.call(
      "PUT",
      `/Users/${user.id}`,
      { schemas: [CORE_USER], userName: name, displayName: "Ada King", emails: [{ value: `${name}@example.org` }] },
      { "if-match": stale },
    );
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ displayName: "Ada King", emails: [{ value: `${name}@example.org` }] });
    expect(put.json().name).toBeUndefined(); // PUT replaces
    expect(put.json().meta.version).not.toBe(stale);
    const late = await scim.call(
      "PATCH",
      `/Users/${user.id}`,
      {
        schemas: [PATCH],
        Operations: [{ op: "replace", path: "displayName", value: "x" }],
      },
      { "if-match": stale },
    );
    expect(late.statusCode).toBe(412);
    expect(late.json()).toMatchObject({ schemas: [ERROR], status: "412" });

    // PATCH errors carry their scimType
    const readOnly = await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", path: "id", value: "other" }],
    });
    expect(readOnly.json()).toMatchObject({ status: "400", scimType: "mutability" });
    const noTarget = await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "remove" }],
    });
    expect(noTarget.json()).toMatchObject({ status: "400", scimType: "noTarget" });
    const badValue = await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", path: "active", value: "maybe" }],
    });
    expect(badValue.json()).toMatchObject({ status: "400", scimType: "invalidValue" });
    const badOp = await scim.call("PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "move", path: "x" }],
    });
    expect(badOp.json()).toMatchObject({ status: "400", scimType: "invalidSyntax" });

    // deletion goes through the directory, and then the user is gone for SCIM
    expect((await scim.call("DELETE", `/Users/${user.id}`)).statusCode).toBe(204);
    const gone = await scim.call("GET", `/Users/${user.id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ schemas: [ERROR], status: "404" });
    const audit = (await t.request({ method: "GET", url: `/v1/audit/events?targetId=${user.id}` })).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["user.created", "user.updated", "user.deleted"]),
    );
  });

  it("pages with startIndex and count, and answers the discovery endpoints", async () => {
    const prefix = uniqueName("page");
    for (let i = 0; i < 5; i++) {
      expect((await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: `${prefix}-${i}` })).statusCode).toBe(
        201,
      );
    }
    const filter = filterQuery(`userName sw "${prefix}"`);
    const first = (await scim.call("GET", `/Users?${filter}&startIndex=1&count=2`)).json();
    const third = (await scim.call("GET", `/Users?${filter}&startIndex=5&count=2`)).json();
    expect(first).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 2 });
    expect(third).toMatchObject({ totalResults: 5, startIndex: 5, itemsPerPage: 1 });
    const countOnly = (await scim.call("GET", `/Users?${filter}&count=0`)).json();
    expect(countOnly).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const past = await scim.call("GET", `/Users?${filter}&startIndex=99999999999999999999&count=2`);
    expect(past.json()).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const badCount = await scim.call("GET", `/Users?count=many`);
    expect(badCount.json()).toMatchObject({ status: "400", scimType: "invalidValue" });

    const spc = (await scim.call("GET", "/ServiceProviderConfig")).json();
    expect(spc).toMatchObject({ patch: { supported: true }, filter: { supported: true }, etag: { supported: true } });
    const types = (await scim.call("GET", "/ResourceTypes")).json();
    expect(types.Resources.map((r: { id: string }) => r.id)).toEqual(["User", "Group"]);
    const schemas = (await scim.call("GET", "/Schemas")).json();
    expect(schemas.Resources.map((r: { id: string }) => r.id)).toEqual([CORE_USER, ENTERPRISE, GROUP]);
  });

  it("keeps each client to its organisation, needs a live token, and is revocable", async () => {
    const other = await scimClient(t); // the default organisation
    const mine = (await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: uniqueName("own") })).json();
    expect((await other.call("GET", `/Users/${mine.id}`)).statusCode).toBe(404);
    const list = (await other.call("GET", `/Users?${filterQuery(`userName eq "${mine.userName}"`)}`)).json();
    expect(list.totalResults).toBe(0);

    const anonymous = await t.app.inject({ method: "GET", url: "/scim/v2/Users" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ schemas: [ERROR], status: "401" });
    const forged = await t.app.inject({
      method: "GET",
      url: "/scim/v2/Users",
      headers: { authorization: `Bearer ${other.token.slice(0, -2)}xx` },
    });
    expect(forged.statusCode).toBe(401);
    // an administrator's credential is no SCIM client: SCIM writes are bound to one organisation
    const admin = await t.request({ method: "GET", url: "/scim/v2/Users" });
    expect(admin.statusCode).toBe(403);
    expect(admin.json()).toMatchObject({ schemas: [ERROR], status: "403" });

    const listed = (await t.request({ method: "GET", url: `/v1/scim-clients?orgId=${other.orgId}` })).json();
    expect(listed.items.map((c: { id: string }) => c.id)).toContain(other.id);
    expect(JSON.stringify(listed)).not.toContain(other.token);
    expect((await t.request({ method: "DELETE", url: `/v1/scim-clients/${other.id}` })).statusCode).toBe(204);
    expect((await other.call("GET", "/Users")).statusCode).toBe(401);
    const audit = (await t.request({ method: "GET", url: `/v1/audit/events?targetId=${other.id}` })).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["scim_client.created", "scim_client.revoked"]),
    );
  });

  it("manages groups and their members, with versions that follow membership", async () => {
    const a = (await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: uniqueName("a") })).json();
    const b = (await scim.call("POST", "/Users", { schemas: [CORE_USER], userName: uniqueName("b") })).json();
    const name = uniqueName("Team");
    const created = await scim.call("POST", "/Groups", {
      schemas: [GROUP],
      displayName: name,
      externalId: `g-${name}`,
      members: [{ value: a.id }],
    });
    expect(created.statusCode).toBe(201);
    const group = created.json();
    expect(group).toMatchObject({ displayName: name, members: [{ value: a.id, display: a.userName, type: "User" }] });

    const byMember = (await scim.call("GET", `/Groups?${filterQuery(`members.value eq "${a.id}"`)}`)).json();
    expect(byMember.Resources.map((g: { id: string }) => g.id)).toEqual([group.id]);
    const byName = (
      await scim.call(
        "GET",
        `/Groups?excludedAttributes=members&${filterQuery(`displayName eq "${name.toLowerCase()}"`)}`,
      )
    ).json();
    expect(byName).toMatchObject({ totalResults: 1, Resources: [{ id: group.id, displayName: name }] });
    expect(byName.Resources[0].members).toBeUndefined();

    const patched = await scim.call(
      "PATCH",
      `/Groups/${group.id}`,
      {
        schemas: [PATCH],
        Operations: [
          { op: "add", path: "members", value: [{ value: b.id }] },
          { op: "remove", path: `members[value eq "${a.id}"]` },
        ],
      },
      { "if-match": group.meta.version },
    );
    expect(patched.statusCode).toBe(204);
    const after = (await scim.call("GET", `/Groups/${group.id}`)).json();
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([b.id]);
    expect(after.meta.version).not.toBe(group.meta.version);
    const stale = await scim.call(
      "PATCH",
      `/Groups/${group.id}`,
      {
        schemas: [PATCH],
        Operations: [{ op: "add", path: "members", value: [{ value: a.id }] }],
      },
      { "if-match": group.meta.version },
    );
    expect(stale.statusCode).toBe(412);

    const unknownMember = await scim.call("PATCH", `/Groups/${group.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "add", path: "members", value: [{ value: "00000000-0000-4000-8000-000000000000" }] }],
    });
    expect(unknownMember.json()).toMatchObject({ status: "400", scimType: "invalidValue" });

    // the user's read-only `groups` follows
    const bUser = (await scim.call("GET", `/Users/${b.id}`)).json();
    expect(bUser.groups).toEqual([expect.objectContaining({ value: group.id, display: name })]);
    // and a list shows the same groups (read by the list's own query)
    const listed = (await scim.call("GET", `/Users?${filterQuery(`userName eq "${bUser.userName}"`)}`)).json();
    expect(listed.Resources).toHaveLength(1);
    expect(listed.Resources[0].groups).toEqual(bUser.groups);

    // a local group with the same name is a uniqueness conflict
    const local = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { name: uniqueName("local"), orgId: scim.orgId },
    });
    const clash = await scim.call("POST", "/Groups", { schemas: [GROUP], displayName: local.json().name });
    expect(clash.json()).toMatchObject({ status: "409", scimType: "uniqueness" });

    expect((await scim.call("DELETE", `/Groups/${group.id}`)).statusCode).toBe(204);
    expect((await scim.call("GET", `/Groups/${group.id}`)).statusCode).toBe(404);
  });
});
