import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUser, uniqueName } from "../../test/support/factories.ts";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { MAX_DEPTH } from "./input-guard.ts";

// Issue #13, items 4, 5, 8 and 9: input the database cannot store, silent coercion, look-alike
// names and misleading errors. Each case is a 4xx naming the field and the rule, in the route's
// own error shape, with nothing written.

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
}, 180_000);
afterAll(() => t.app.close());

const deep = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;

async function groupCount(name: string): Promise<number> {
  const res = await t.request({ method: "GET", url: `/v1/groups?limit=1000` });
  return res.json().items.filter((g: { name: string }) => g.name.normalize("NFC") === name.normalize("NFC")).length;
}

describe(`input the database cannot store (${TEST_BACKEND})`, () => {
  it("refuses a NUL character in a body string, a query filter and a path parameter", async () => {
    const name = uniqueName("nul");
    const body = await t.request({ method: "POST", url: "/v1/groups", payload: { name: `${name}\u0000x` } });
    expect(body.statusCode).toBe(400);
    expect(body.json().details[0]).toMatchObject({ field: "body.name", rule: "noNulCharacter" });
    expect(await groupCount(`${name}\u0000x`)).toBe(0);
    const query = await t.request({ method: "GET", url: "/v1/groups?name=a%00b" });
    expect(query.statusCode).toBe(400);
    expect(query.json().details[0]).toMatchObject({ field: "query.name", rule: "noNulCharacter" });
    const path = await t.request({ method: "GET", url: "/v1/service-defs/a%00b" });
    expect(path.statusCode).toBe(400);
    expect(path.json().details[0]).toMatchObject({ field: "path.name", rule: "noNulCharacter" });
  });

  it("refuses a lone surrogate in a title and in metadata keys", async () => {
    const title = await t.request({
      method: "POST",
      url: "/v1/groups",
      headers: { "content-type": "application/json" },
      payload: `{"name": "${uniqueName("s")}", "title": "a\\ud800b"}`,
    });
    expect(title.statusCode).toBe(400);
    expect(title.json().details[0]).toMatchObject({ field: "body.title", rule: "wellFormedUnicode" });
    const key = await t.request({
      method: "POST",
      url: "/v1/groups",
      headers: { "content-type": "application/json" },
      payload: `{"name": "${uniqueName("s")}", "metadata": {"list": [{"\\udfff": 1}]}}`,
    });
    expect(key.statusCode).toBe(400);
    expect(key.json().details[0]).toMatchObject({ field: "body.metadata.list[0].\udfff", rule: "wellFormedUnicode" });
  });

  it("refuses invalid UTF-8 bytes instead of turning them into U+FFFD", async () => {
    const name = uniqueName("utf");
    const res = await t.request({
      method: "POST",
      url: "/v1/groups",
      headers: { "content-type": "application/json" },
      payload: Buffer.concat([Buffer.from(`{"name": "${name}`), Buffer.from([0xff]), Buffer.from('"}')]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0]).toMatchObject({ field: "body", rule: "validUtf8" });
    expect(await groupCount(`${name}\ufffd`)).toBe(0);
  });

  it("refuses metadata nested deeper than the limit on native, Nx1 and Puppet routes, each in its shape", async () => {
    const native = await t.request({
      method: "POST",
      url: "/v1/groups",
      headers: { "content-type": "application/json" },
      payload: `{"name": "${uniqueName("d")}", "metadata": {"a": ${deep(5000)}}}`,
    });
    expect(native.statusCode).toBe(400);
    expect(native.json().details[0]).toMatchObject({ rule: "maxDepth" });
    expect(native.json().details[0].field).toMatch(/^body\.metadata\.a(\[0\])+$/);
    const nx1 = await t.request({
      method: "POST",
      url: "/api/govern/data-access/policies",
      headers: { "content-type": "application/json" },
      payload: `{"name": "p", "resources": ${deep(5000)}}`,
    });
    expect(nx1.statusCode).toBe(422);
    expect(nx1.json()).toMatchObject({ code: 422 });
    expect(nx1.json().error).toContain("must not nest arrays and objects more than 32 levels deep");
    const puppet = await t.request({
      method: "POST",
      url: "/rbac-api/v2/groups",
      headers: { "x-authentication": TEST_PSK, "content-type": "application/json" },
      payload: `{"login": "x", "role_ids": ${deep(5000)}}`,
    });
    expect(puppet.statusCode).toBe(400);
    expect(puppet.json().kind).toBe("schema-violation");
    expect(JSON.stringify(puppet.json().details.submitted).length).toBeLessThan(1000);
  });

  it("accepts nesting up to the limit", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/groups",
      headers: { "content-type": "application/json" },
      payload: `{"name": "${uniqueName("d")}", "metadata": {"a": ${deep(MAX_DEPTH - 3)}}}`,
    });
    expect(res.statusCode, res.body).toBe(201);
  });

  it("refuses a policy principal or label longer than an index entry can hold", async () => {
    const service = uniqueName("svc");
    const created = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } });
    expect(created.statusCode, created.body).toBe(201);
    const policy = (extra: Record<string, unknown>) => ({
      name: uniqueName("p"),
      resources: { catalog: { values: ["hive"] }, schema: { values: ["s"] }, table: { values: ["*"] } },
      policyItems: [{ users: ["u"], accesses: [{ type: "select" }] }],
      ...extra,
    });
    const principal = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: policy({ policyItems: [{ users: ["u".repeat(3000)], accesses: [{ type: "select" }] }] }),
    });
    expect(principal.statusCode).toBe(400);
    expect(principal.json().details[0]).toMatchObject({ field: "body.policyItems[0].users[0]", rule: "maxLength" });
    const label = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: policy({ policyLabels: ["l".repeat(4096)] }),
    });
    expect(label.statusCode).toBe(400);
    expect(label.json().details[0]).toMatchObject({ field: "body.policyLabels[0]", rule: "maxLength" });
  });

  it("refuses a decision resource value that is neither a string nor a list of strings", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: { service: "nope", user: "u", resource: { database: [[]] }, accessType: "select" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.map((d: { field: string }) => d.field)).toContain("body.resource.database");
  });

  it("refuses a path id beyond a 32-bit integer and a multipart body without a boundary", async () => {
    const id = await t.request({ method: "GET", url: "/api/govern/data-access/policies/99999999999999999999" });
    expect(id.statusCode).toBe(422);
    expect(id.json().error).toContain("path.policy_id");
    const multipart = await t.request({
      method: "POST",
      url: "/api/govern/data-access/policies/bulk",
      headers: { "content-type": "multipart/form-data" },
      payload: '{"fuzz": 1}',
    });
    expect(multipart.statusCode).toBe(422);
    expect(multipart.json().error).toContain("multipart/form-data");
  });

  it("refuses a service account in an unknown organisation with 422 naming body.orgId", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      payload: { name: uniqueName("sa"), roles: ["viewer"], orgId: "00000000-0000-4000-8000-000000000000" },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().details[0]).toMatchObject({ field: "body.orgId", rule: "exists" });
  });

  it("answers path traversal under /docs/static with a 4xx", async () => {
    for (const url of ["/docs/static/../../package.json", "/docs/static/%2e%2e/%2e%2e/package.json"]) {
      const res = await t.request({ method: "GET", url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
    }
  });
});

describe("JSON bodies are not coerced", () => {
  for (const value of [5, true, ["arr"]]) {
    it(`refuses ${JSON.stringify(value)} as a group name`, async () => {
      // other tests (the fuzz) may create a group of that name legitimately: count before and after
      const before = await groupCount(String(value));
      const res = await t.request({ method: "POST", url: "/v1/groups", payload: { name: value } });
      expect(res.statusCode).toBe(400);
      expect(res.json().details[0]).toMatchObject({ field: "body.name", rule: "type" });
      expect(await groupCount(String(value))).toBe(before);
    });
  }

  it("still coerces query strings", async () => {
    const res = await t.request({ method: "GET", url: "/v1/groups?limit=2" });
    expect(res.statusCode).toBe(200);
  });
});

describe("look-alike group names", () => {
  it("treats the NFC and NFD spellings of a name as one group", async () => {
    const base = uniqueName("caf");
    const nfc = `${base}\u00e9`;
    const nfd = `${base}e\u0301`;
    const first = await t.request({ method: "POST", url: "/v1/groups", payload: { name: nfd } });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json().name).toBe(nfc);
    const second = await t.request({ method: "POST", url: "/v1/groups", payload: { name: nfc } });
    expect(second.statusCode).toBe(409);
  });

  for (const [what, ch] of [
    ["a zero-width space", "\u200b"],
    ["a right-to-left override", "\u202e"],
    ["a byte-order mark", "\ufeff"],
  ] as const) {
    it(`refuses ${what} in a name`, async () => {
      const res = await t.request({ method: "POST", url: "/v1/groups", payload: { name: `a${ch}${uniqueName("z")}` } });
      expect(res.statusCode).toBe(400);
      expect(res.json().details[0]).toMatchObject({ field: "body.name", rule: "noInvisibleCharacters" });
    });
  }
});

describe("errors that guide", () => {
  it("lists the allowed values of an enum", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: { service: "s", user: "u", resource: {}, accessType: "select", policyType: "nope" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([
      {
        field: "body.policyType",
        rule: "enum",
        message: "body.policyType: must be one of `access`, `datamask`, `rowfilter`",
      },
    ]);
  });

  it("lists the first 20 failures of a huge array and counts the rest", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: { service: "s", user: "u", resource: {}, accessType: "select", groups: Array(9000).fill(5) },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toHaveLength(20);
    expect(res.json().details[19]).toMatchObject({ field: "body.groups[19]", rule: "type" });
    expect(res.json().message).toMatch(/; and 8980 more$/);
  });

  it("writes array indexes in brackets", async () => {
    const res = await t.request({ method: "POST", url: "/v1/groups", payload: { name: "x", metadata: 5 } });
    expect(res.json().details[0].field).toBe("body.metadata");
    const items = await t.request({
      method: "POST",
      url: "/api/govern/data-access/metadata/groups",
      payload: { items: ["ok", 5] },
    });
    expect(items.statusCode).toBe(422);
    expect(items.json().detail[0].loc).toEqual(["body", "items", 1]);
  });

  it("cuts a long value before echoing it", async () => {
    const res = await t.request({
      method: "POST",
      url: "/api/govern/data-access/metadata/groups",
      payload: { items: ["x".repeat(100_000)] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain("(100000 characters)");
    expect(res.body.length).toBeLessThan(2000);
  });

  it("names the header each compatibility route reads in its 401", async () => {
    const puppet = await t.app.inject({ method: "GET", url: "/rbac-api/v1/groups" });
    expect(puppet.statusCode).toBe(401);
    expect(puppet.json().msg).toContain("X-Authentication");
    expect(puppet.json().msg).not.toContain("Authorization-PSK");
    const aria = await t.app.inject({ method: "GET", url: "/suite-api/api/auth/usergroups" });
    expect(aria.statusCode).toBe(401);
    expect(aria.json().message).toContain("OpsToken");
  });

  it("says a body needs a content type instead of naming an empty one", async () => {
    const user = await buildUser(t.db);
    const res = await t.request({
      method: "PATCH",
      url: `/v1/users/${user.id}`,
      headers: { "content-type": "" },
      payload: "{}",
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().message).not.toContain("``");
    expect(res.json().message).toContain("content-type");
  });
});
