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
});
afterAll(async () => {
  await t.app.close();
});

const JSON_TYPE = { "content-type": "application/json" };
const PSK = { "authorization-psk": TEST_PSK };

/** The same request over real HTTP (where the lane sits) and through `inject` (Fastify only). */
async function both(headers: Record<string, string>, body: string, path = "/v1/decisions") {
  const before = { ...t.app.decisionLane };
  const res = await fetch(`${base}${path}`, { method: "POST", headers, body });
  const wire = { status: res.status, body: await res.text(), requestId: res.headers.get("x-request-id") };
  const lane = {
    answered: t.app.decisionLane.answered - before.answered,
    replayed: t.app.decisionLane.replayed - before.replayed,
    passed: t.app.decisionLane.passed - before.passed,
  };
  const injected = await t.app.inject({ method: "POST", url: path, headers, payload: body });
  return { wire, lane, fastify: { status: injected.statusCode, body: injected.body } };
}

/** Error bodies carry the request id, which differs between the two requests. */
const withoutRequestId = (body: string) => {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    delete parsed.requestId;
    return parsed;
  } catch {
    return body;
  }
};

const decision = (user: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    service: s.service,
    user,
    resource: { catalog: "sales", schema: s.schema, table: "orders" },
    accessType: "select",
    ...over,
  });

describe(`decision fast lane (${TEST_BACKEND})`, () => {
  it("answers the common decision itself, exactly as the route does", async () => {
    for (const user of [s.alice, s.bob]) {
      // the first request of a user loads its memberships; the second is answered from cache
      for (let round = 0; round < 2; round++) {
        const r = await both({ ...JSON_TYPE, ...PSK }, decision(user));
        expect(r.lane).toEqual({ answered: 1, replayed: 0, passed: 0 });
        expect(r.wire.status).toBe(200);
        expect(JSON.parse(r.wire.body)).toEqual(JSON.parse(r.fastify.body));
        expect(r.wire.requestId).toMatch(/^[0-9a-f-]{36}$/);
      }
    }
    const allowed = await both({ ...JSON_TYPE, ...PSK }, decision(s.alice));
    expect(JSON.parse(allowed.wire.body)).toMatchObject({ allowed: true, policyId: s.policy.id });
    const given = await fetch(`${base}/v1/decisions`, {
      method: "POST",
      headers: { ...JSON_TYPE, ...PSK, "x-request-id": "trace-42" },
      body: decision(s.alice),
    });
    expect(given.headers.get("x-request-id")).toBe("trace-42");
  });

  it("replays through Fastify what it read but cannot answer, so errors keep the route's shape", async () => {
    const cases = [
      decision(s.alice, { service: "no-such-service" }),
      decision(s.alice, { resource: { catalog: "sales", nosuchkey: "x" } }),
      decision(s.alice, { accessType: "fly" }),
      decision(s.alice, { extra: 1 }),
      '{"service": ',
      decision(s.alice, { context: { constructor: { prototype: {} } } }),
    ];
    for (const body of cases) {
      const r = await both({ ...JSON_TYPE, ...PSK }, body);
      expect(r.lane, body).toEqual({ answered: 0, replayed: 1, passed: 0 });
      expect(r.wire.status, body).toBe(r.fastify.status);
      expect(r.wire.status, body).toBeGreaterThanOrEqual(400);
      expect(r.wire.status, body).toBeLessThan(500);
      expect(withoutRequestId(r.wire.body), body).toEqual(withoutRequestId(r.fastify.body));
    }
  });

  it("replays invalid UTF-8 bytes, NUL characters and lone surrogates, so the input guard answers 400", async () => {
    const text = decision(s.alice);
    const at = text.indexOf(s.alice) + 1;
    const bodies: [Buffer, string][] = [
      [Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff]), Buffer.from(text.slice(at))]), "validUtf8"],
      [Buffer.from(decision(`${s.alice}\u0000`)), "noNulCharacter"],
      [Buffer.from(decision(s.alice, { action: "\ud800" })), "wellFormedUnicode"],
    ];
    for (const [body, rule] of bodies) {
      const before = t.app.decisionLane.replayed;
      const res = await fetch(`${base}/v1/decisions`, { method: "POST", headers: { ...JSON_TYPE, ...PSK }, body });
      expect(res.status, rule).toBe(400);
      expect(((await res.json()) as { details: { rule: string }[] }).details[0]?.rule).toBe(rule);
      expect(t.app.decisionLane.replayed - before, rule).toBe(1);
    }
  });

  it("leaves to Fastify, unread, every request it does not take", async () => {
    const body = decision(s.alice);
    const cases: [Record<string, string>, string][] = [
      [JSON_TYPE, "/v1/decisions"],
      [{ ...JSON_TYPE, "authorization-psk": "not-the-psk" }, "/v1/decisions"],
      [{ ...JSON_TYPE, authorization: `Basic ${Buffer.from("x:y").toString("base64")}` }, "/v1/decisions"],
      [{ "content-type": "text/plain", ...PSK }, "/v1/decisions"],
      [{ ...JSON_TYPE, ...PSK }, "/v1/decisions?explain=1"],
      [{ ...JSON_TYPE, ...PSK, "idempotency-key": "k-1" }, "/v1/decisions"],
    ];
    for (const [headers, path] of cases) {
      const r = await both(headers, body, path);
      const label = `${JSON.stringify(headers)} ${path}`;
      expect(r.lane.answered + r.lane.replayed, label).toBe(0);
      expect(r.wire.status, label).toBe(r.fastify.status);
      expect(withoutRequestId(r.wire.body), label).toEqual(withoutRequestId(r.fastify.body));
    }
  });

  it("counts its answers in the route's request metrics", async () => {
    const scrape = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text
        .split("\n")
        .find(
          (l) =>
            l.startsWith("gatehouse_http_requests_total{") &&
            l.includes('route="/v1/decisions"') &&
            l.includes('status="200"'),
        );
      return Number(line?.split(" ").pop() ?? 0);
    };
    const before = await scrape();
    for (let i = 0; i < 3; i++)
      await fetch(`${base}/v1/decisions`, {
        method: "POST",
        headers: { ...JSON_TYPE, ...PSK },
        body: decision(s.alice),
      });
    expect(await scrape()).toBe(before + 3);
  });

  it("answers a batch itself, exactly as the route does: cached and loading items, item errors", async () => {
    const batchLane = () => ({ ...t.app.decisionBatchLane });
    const item = (user: string, over: Record<string, unknown> = {}) => ({
      user,
      resource: { catalog: "sales", schema: s.schema, table: "orders" },
      accessType: "select",
      ...over,
    });
    const bodies = [
      // the first names a user not cached yet, so the batch goes on in a promise from there
      { service: s.service, requests: [item(s.alice), item(`fresh-${Date.now()}`), item(s.bob)] },
      {
        service: s.service,
        requests: [
          item(s.alice),
          item(s.alice, { resource: { catalog: "sales", nosuchkey: "x" } }),
          item(s.bob, { service: "no-such-service" }),
          item(s.bob),
        ],
      },
      { requests: [item(s.alice), item(s.alice, { service: s.service })] },
    ];
    for (const body of bodies) {
      const before = batchLane();
      const r = await both({ ...JSON_TYPE, ...PSK }, JSON.stringify(body), "/v1/decisions:batch");
      const after = batchLane();
      expect(after.answered - before.answered, JSON.stringify(body)).toBe(1);
      expect(r.wire.status).toBe(200);
      expect(JSON.parse(r.wire.body)).toEqual(JSON.parse(r.fastify.body));
    }
    const mixed = JSON.parse(
      (await both({ ...JSON_TYPE, ...PSK }, JSON.stringify(bodies[1]), "/v1/decisions:batch")).wire.body,
    );
    expect(mixed).toMatchObject({ allowed: 1, failed: 2 });
    expect(mixed.results[1].error.code).toBe("RESOURCE_KEY_UNKNOWN");
    const noService = JSON.parse(
      (await both({ ...JSON_TYPE, ...PSK }, JSON.stringify(bodies[2]), "/v1/decisions:batch")).wire.body,
    );
    expect(noService.results[0].error.message).toMatch(/^body\.requests\[0\]\.service: is required/);
    expect(noService.results[1].allowed).toBe(true);
    // a body the schema refuses is replayed through Fastify, which answers the 400
    const before = batchLane();
    const bad = await both(
      { ...JSON_TYPE, ...PSK },
      JSON.stringify({ requests: [{ user: 5 }] }),
      "/v1/decisions:batch",
    );
    expect(batchLane().replayed - before.replayed).toBe(1);
    expect(bad.wire.status).toBe(400);
    expect(withoutRequestId(bad.wire.body)).toEqual(withoutRequestId(bad.fastify.body));
  });
});
