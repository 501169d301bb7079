import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

const def = (name: string, accessTypes: unknown[]) => ({
  name,
  resources: [{ name: "bucket", level: 10, mandatory: true }],
  accessTypes,
});

describe(`PUT /v1/service-defs/{name} (${TEST_BACKEND})`, () => {
  it("replaces a custom def, names the field of an invalid one, and refuses renames and built-in defs", async () => {
    const name = uniqueName("def");
    const created = await t.request({
      method: "POST",
      url: "/v1/service-defs",
      payload: def(name, [{ name: "read" }]),
    });
    expect(created.statusCode, created.body).toBe(201);
    const svc = uniqueName("s3");
    expect(
      (await t.request({ method: "POST", url: "/v1/services", payload: { name: svc, type: name } })).statusCode,
    ).toBe(201);
    const before = (await t.request({ method: "GET", url: `/v1/services/${svc}` })).json().policyVersion;

    const replaced = await t.request({
      method: "PUT",
      url: `/v1/service-defs/${name}`,
      payload: def(name, [{ name: "read" }, { name: "write" }]),
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json().accessTypes.map((a: { name: string }) => a.name)).toEqual(["read", "write"]);
    const got = await t.request({ method: "GET", url: `/v1/service-defs/${name}` });
    expect(got.json().accessTypes).toHaveLength(2);
    expect((await t.request({ method: "GET", url: `/v1/services/${svc}` })).json().policyVersion).toBeGreaterThan(
      before,
    );

    const bad = await t.request({
      method: "PUT",
      url: `/v1/service-defs/${name}`,
      payload: def(name, [{ name: "all", impliedGrants: ["nope"] }]),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("SERVICE_DEF_INVALID");
    expect(bad.json().details[0].field).toMatch(/^body\.accessTypes\[0\]/);

    const renamed = await t.request({ method: "PUT", url: `/v1/service-defs/${name}`, payload: def("other", []) });
    expect(renamed.statusCode).toBe(400);
    expect(renamed.json().details).toContainEqual(expect.objectContaining({ field: "body.name" }));

    const builtin = await t.request({ method: "PUT", url: "/v1/service-defs/trino", payload: def("trino", []) });
    expect(builtin.statusCode).toBe(409);
    expect(
      (await t.request({ method: "PUT", url: "/v1/service-defs/nope-def", payload: def("nope-def", []) })).statusCode,
    ).toBe(404);
  });
});
