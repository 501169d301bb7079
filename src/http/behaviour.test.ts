import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUser } from "../../test/support/factories.ts";
import { asAdmin, TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { testDb } from "../../test/support/test-db.ts";
import { buildApp } from "../app.ts";
import { hashSecret } from "../auth/secrets.ts";
import { loadConfig } from "../config/load.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ GATEHOUSE_BODY_LIMIT_BYTES: "2048" });
});
afterAll(() => t.app.close());

describe("request ids", () => {
  it("echoes a given X-Request-Id and puts it in error bodies", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/whoami", headers: { "x-request-id": "abc-123" } });
    expect(res.headers["x-request-id"]).toBe("abc-123");
    expect(res.json().requestId).toBe("abc-123");
  });

  it("generates one otherwise", async () => {
    const res = await t.request({ method: "GET", url: "/healthz" });
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("request errors name the field and the rule", () => {
  it("schema failures list every field", async () => {
    const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: "nope", extra: 1 } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe("VALIDATION_FAILED");
    const fields = body.details.map((d: { field: string; rule: string }) => `${d.field}:${d.rule}`).sort();
    expect(fields).toEqual(["body.extra:additionalProperties", "body.name:required", "body.userId:format"]);
    expect(body.message).toContain("body.name: is required");
  });

  it("query parameters are named as query.*", async () => {
    const res = await t.request({ method: "GET", url: "/v1/audit/events?limit=5000" });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0]).toMatchObject({ field: "query.limit", rule: "maximum" });
  });

  it("malformed JSON is 400 MALFORMED_JSON", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/api-keys",
      headers: { "content-type": "application/json" },
      payload: '{"userId": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("MALFORMED_JSON");
  });

  it("an oversized body is 413 with a clear message", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/api-keys",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ name: "x".repeat(5000) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      message: expect.stringMatching(/larger than the limit/),
    });
  });

  it("an unknown route is 404 ROUTE_NOT_FOUND naming it", async () => {
    const res = await t.request({ method: "GET", url: "/v1/nothing-here" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: "ROUTE_NOT_FOUND", message: "no route `GET /v1/nothing-here`" });
  });

  it("a bad cursor is 400 naming query.cursor", async () => {
    const res = await t.request({ method: "GET", url: "/v1/audit/events?cursor=zzz" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "INVALID_CURSOR", details: [{ field: "query.cursor" }] });
  });
});

describe("unexpected errors", () => {
  it("answer 500 INTERNAL with a generic message and never leak the detail", async () => {
    const config = loadConfig({ env: { GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
    const app = await buildApp({ config, db: await testDb(), generalPskHash: hashSecret(TEST_PSK) });
    app.get("/v1/boom", { config: { ability: "authenticated" }, schema: { hide: true } }, async () => {
      throw new Error("password=hunter2 at db host 10.0.0.7");
    });
    await app.ready();
    const res = await app.inject({ method: "GET", url: "/v1/boom", headers: asAdmin });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: "INTERNAL", message: "internal error" });
    expect(res.body).not.toContain("hunter2");
    await app.close();
  });
});

describe("pagination", () => {
  it("walks every page exactly once with totals and a null cursor at the end", async () => {
    const user = await buildUser(t.db);
    for (let i = 0; i < 5; i++) {
      await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: `k${i}` } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await t.request({
        method: "GET",
        url: `/v1/api-keys?userId=${user.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      });
      const body = page.json();
      expect(body.total).toBe(5);
      seen.push(...body.items.map((k: { id: string }) => k.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(5);
    expect(new Set(seen).size).toBe(5);
  });
});

describe("Idempotency-Key", () => {
  it("replays the stored response for a retry with the same body", async () => {
    const user = await buildUser(t.db);
    const key = `idem-${Date.now()}`;
    const send = (name: string) =>
      t.request({
        method: "POST",
        url: "/v1/api-keys",
        headers: { "idempotency-key": key },
        payload: { userId: user.id, name },
      });
    const first = await send("a");
    const retry = await send("a");
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json().id).toBe(first.json().id);
    const keys = await t.request({ method: "GET", url: `/v1/api-keys?userId=${user.id}` });
    expect(keys.json().total).toBe(1);
    const different = await send("b");
    expect(different.statusCode).toBe(422);
    expect(different.json().code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("does not store failed requests, so a corrected retry runs", async () => {
    const key = `idem-fail-${Date.now()}`;
    const bad = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      headers: { "idempotency-key": key },
      payload: { name: "x", roles: ["nope"] },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe("operations endpoints", () => {
  it("serve health, readiness, metrics and the OpenAPI document without credentials", async () => {
    expect((await t.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await t.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toEqual({ database: "ok", migrations: "ok" });
    const metrics = await t.app.inject({ url: "/metrics" });
    expect(metrics.body).toContain("gatehouse_http_requests_total");
    expect(metrics.body).toContain('gatehouse_db_connections{state="total"}');
    const doc = (await t.app.inject({ url: "/openapi.json" })).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/v1/api-keys"].post.responses["4XX"]).toBeDefined();
    expect((await t.app.inject({ url: "/docs/" })).statusCode).toBe(200);
  });

  it("documents every route with a summary and tags", async () => {
    const doc = (await t.app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
    };
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation.summary || !operation.tags?.length) missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
