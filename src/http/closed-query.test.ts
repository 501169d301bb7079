import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { closedQuery } from "./closed-query.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.app.close());

describe("unknown query parameters", () => {
  it("are a 400 naming the parameter, not an ignored filter", async () => {
    const res = await t.request({ method: "GET", url: "/v1/users?userName=alice&limit=5" });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("VALIDATION_FAILED");
    expect(res.json().details).toEqual([
      { field: "query.userName", rule: "additionalProperties", message: "query.userName: is not a known field" },
    ]);
  });

  it("leave every declared parameter of an intersected query schema usable", async () => {
    const res = await t.request({ method: "GET", url: "/v1/users?prefix=zz-none&status=active&limit=5" });
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([]);
  });

  it("stay accepted on the Ranger plugin routes, whose clients send version-specific parameters", async () => {
    const res = await t.request({
      method: "GET",
      url: "/service/plugins/policies/download/trino?lastKnownVersion=-1&pluginCapabilities=7ffff&pluginId=x",
    });
    expect(res.statusCode).toBe(200);
  });
});

describe("closedQuery", () => {
  it("merges an intersection of objects into one closed object, keeping required names", () => {
    const merged = closedQuery({
      allOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { type: "object", properties: { b: { type: "number" } } },
      ],
    });
    expect(merged).toEqual({
      type: "object",
      properties: { a: { type: "string" }, b: { type: "number" } },
      required: ["a"],
      additionalProperties: false,
    });
  });

  it("keeps pattern properties (policy search's resource:<name> parameters)", () => {
    const merged = closedQuery({
      allOf: [
        { type: "object", properties: { limit: { type: "integer" } } },
        { type: "object", properties: {}, patternProperties: { "^resource:": { type: "string" } } },
      ],
    });
    expect(merged).toMatchObject({
      patternProperties: { "^resource:": { type: "string" } },
      additionalProperties: false,
    });
  });

  it("leaves schemas it cannot close safely unchanged", () => {
    const union = {
      anyOf: [
        { type: "object", properties: {} },
        { type: "object", properties: {} },
      ],
    };
    expect(closedQuery(union)).toBe(union);
    const open = { type: "object", properties: {}, additionalProperties: true };
    expect(closedQuery(open)).toBe(open);
  });
});
