import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

/** A trino service with one policy granting alice select on the given catalog values. */
async function serviceWithCatalogs(values: string[]): Promise<string> {
  const service = uniqueName("svc");
  expect(
    (await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } })).statusCode,
  ).toBe(201);
  const policy = await t.request({
    method: "POST",
    url: `/v1/services/${service}/policies`,
    payload: {
      name: uniqueName("p"),
      resources: { catalog: { values }, schema: { values: ["*"] }, table: { values: ["*"] } },
      policyItems: [{ users: ["alice"], accesses: [{ type: "select" }] }],
    },
  });
  expect(policy.statusCode).toBe(201);
  return service;
}

const decision = (service: string, catalog: string | string[]) => ({
  service,
  user: "alice",
  groups: [],
  roles: [],
  resource: { catalog },
  accessType: "select",
});

const values = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe(`decision limits (${TEST_BACKEND})`, () => {
  it("refuses a resource element of more than 1000 values, naming the field and the rule, alone or in a batch", async () => {
    const service = await serviceWithCatalogs(["sales"]);
    const res = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: decision(service, values(1001, "c")),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: "VALIDATION_FAILED",
      message: "body.resource.catalog: must have at most 1000 values",
      details: [{ field: "body.resource.catalog", rule: "maxItems" }],
    });
    const batch = await t.request({
      method: "POST",
      url: "/v1/decisions:batch",
      payload: { service, requests: [decision(service, values(1001, "c")), decision(service, "sales")] },
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toMatchObject({
      failed: 1,
      allowed: 1,
      results: [
        {
          error: {
            code: "VALIDATION_FAILED",
            message: "body.requests[0].resource.catalog: must have at most 1000 values",
          },
        },
        { allowed: true },
      ],
    });
  });

  it("matches 1000 request values against a policy of 5000 literal values within the work budget", async () => {
    // one lookup per request value (the literal index): 1000 units of the default 250,000; tried
    // one by one it would be 5,000,000 and the request would fail with DECISION_BUDGET_EXCEEDED
    const service = await serviceWithCatalogs(values(5000, "catalog_"));
    const catalogs = values(1000, "other_");
    const denied = await t.request({ method: "POST", url: "/v1/decisions", payload: decision(service, catalogs) });
    expect(denied.statusCode).toBe(200);
    expect(denied.json()).toMatchObject({ allowed: false });
    catalogs[999] = "CATALOG_4999";
    const allowed = await t.request({ method: "POST", url: "/v1/decisions", payload: decision(service, catalogs) });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toMatchObject({ allowed: true });
  });

  it("fails a decision whose matching exceeds the work budget with DECISION_BUDGET_EXCEEDED; a batch shares one budget", async () => {
    // 5000 values with `?`: each is tried one by one, so 100 request values cost 100 × 5001 units
    const service = await serviceWithCatalogs(values(5000, "c?t_"));
    const res = await t.request({ method: "POST", url: "/v1/decisions", payload: decision(service, values(100, "x")) });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: "DECISION_BUDGET_EXCEEDED",
      details: [{ field: "body.resource.catalog", rule: "workBudget" }],
    });
    expect(res.json().message).toMatch(/^body\.resource\.catalog: .*work budget of 250000 units/);
    // 20 values cost 100,020 units each: two fit in the batch's 250,000, the third does not
    const batch = await t.request({
      method: "POST",
      url: "/v1/decisions:batch",
      payload: { service, requests: [1, 2, 3].map(() => decision(service, values(20, "x"))) },
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toMatchObject({
      denied: 2,
      failed: 1,
      results: [{ allowed: false }, { allowed: false }, { error: { code: "DECISION_BUDGET_EXCEEDED" } }],
    });
    // explain runs the same budget
    const explained = await t.request({
      method: "POST",
      url: "/v1/decisions:explain",
      payload: decision(service, values(100, "x")),
    });
    expect(explained.statusCode).toBe(422);
    expect(explained.json().code).toBe("DECISION_BUDGET_EXCEEDED");
  });

  // The decision-stall bound: over a real socket, a huge decision request is refused (too many
  // values) or budget-failed (too much matching), and /healthz, asked while it is in flight, answers.
  // Before the bounds, the 10,000-value request held the event loop for many seconds.
  it("answers /healthz while huge decision requests are refused or budget-failed", async () => {
    const literal = await serviceWithCatalogs(values(20_000, "catalog_"));
    const wildcard = await serviceWithCatalogs(values(5000, "c?t_"));
    const address = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const url =
      typeof address === "string" ? address : `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const post = (body: unknown) =>
      fetch(`${url}/v1/decisions`, {
        method: "POST",
        headers: { "content-type": "application/json", "authorization-psk": TEST_PSK },
        body: JSON.stringify(body),
      });
    for (const [body, status, code] of [
      [decision(literal, values(10_000, "other_")), 400, "VALIDATION_FAILED"],
      [decision(wildcard, values(1000, "other_")), 422, "DECISION_BUDGET_EXCEEDED"],
    ] as const) {
      const inFlight = post(body);
      // asked while the decision is in flight: each must wait for an event loop the decision holds
      const health: { status: number; ms: number }[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const h = await fetch(`${url}/healthz`);
        await h.arrayBuffer();
        health.push({ status: h.status, ms: performance.now() - started });
      }
      const res = await inFlight;
      expect(res.status).toBe(status);
      expect(((await res.json()) as { code: string }).code).toBe(code);
      expect(health.map((h) => h.status)).toEqual([200, 200, 200, 200, 200]);
      // generous: the unbounded request held the loop for tens of seconds; a bounded one for milliseconds
      expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(2000);
    }
  }, 60_000);
});
