import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "./test-seed.ts";

let t: TestApp;
let base: string;
let s: Awaited<ReturnType<typeof seedService>>;
beforeAll(async () => {
  t = await testApp();
  base = await t.app.listen({ port: 0, host: "127.0.0.1" });
  s = await seedService(t);
}, 300_000);
afterAll(async () => {
  await t.app.close();
});

const HEADERS = { "content-type": "application/json", "authorization-psk": TEST_PSK };

/** Alice's request on a table her group may `select`, with `over` applied (undefined drops a field). */
function request(over: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    service: s.service,
    user: s.alice,
    resource: { catalog: "sales", schema: s.schema, table: "orders" },
    accessType: "select",
    ...over,
  };
  for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
  return body;
}

describe(`a decision without an access type is refused, never "any access" (${TEST_BACKEND})`, () => {
  it("answers 400 naming body.accessType on the wire (fast lane) and through Fastify, single and explained", async () => {
    for (const accessType of [undefined, ""]) {
      const body = JSON.stringify(request({ accessType }));
      for (const path of ["/v1/decisions", "/v1/decisions:explain"]) {
        const wire = await fetch(`${base}${path}`, { method: "POST", headers: HEADERS, body });
        const answer = (await wire.json()) as { code: string; message: string; details: { field: string }[] };
        expect(wire.status, `${path} ${body}`).toBe(400);
        expect(answer.code).toBe("VALIDATION_FAILED");
        expect(answer.details.map((d) => d.field)).toContain("body.accessType");
        const injected = await t.app.inject({ method: "POST", url: path, headers: HEADERS, payload: body });
        expect(injected.statusCode, `${path} ${body}`).toBe(400);
      }
    }
  });

  it("refuses a batch whose item has no access type, instead of deciding it as any access", async () => {
    for (const accessType of [undefined, ""]) {
      const res = await t.request({
        method: "POST",
        url: "/v1/decisions:batch",
        payload: { requests: [request(), request({ accessType })] },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().details.map((d: { field: string }) => d.field)).toContain("body.requests[1].accessType");
    }
  });

  it("decides any access when asked for explicitly with `_any`", async () => {
    const any = await fetch(`${base}/v1/decisions`, {
      method: "POST",
      headers: HEADERS,
      body: JSON.stringify(request({ accessType: "_any" })),
    });
    expect(any.status).toBe(200);
    expect(await any.json()).toMatchObject({ allowed: true, policyId: s.policy.id });
    const bobAny = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: request({ user: s.bob, accessType: "_any" }),
    });
    expect(bobAny.json()).toMatchObject({ allowed: false });
  });
});
