import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUser } from "../../test/support/factories.ts";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { loadConfig } from "../config/load.ts";
import { seedService } from "../decisions/test-seed.ts";

// Issue #13: a lockout of one address used to refuse every credential from it, the correct PSK
// too, and behind a reverse proxy every client shares one address. The rule now (FailureLimiter):
// refused before verification only when the address is locked out AND the presented identity is
// under attack; X-Forwarded-For counts only from GATEHOUSE_TRUSTED_PROXIES.
const PROXY = "10.9.0.1";
let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await testApp({ GATEHOUSE_AUTH_FAILURE_LIMIT: "3", GATEHOUSE_TRUSTED_PROXIES: `${PROXY}, 127.0.0.1` });
  base = await t.app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await t.app.close();
});

let next = 0;
/** A fresh address for each test, so their windows do not meet. */
const freshAddress = () => `10.77.${Math.floor(++next / 250)}.${next % 250}`;

const whoami = (headers: Record<string, string>, remoteAddress: string) =>
  t.request({ method: "GET", url: "/v1/whoami", headers, remoteAddress });

async function issueKey(): Promise<{ key: string; prefix: string }> {
  const user = await buildUser(t.db);
  const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: "ci" } });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function failThrice(headers: Record<string, string>, remoteAddress: string, extra: Record<string, string> = {}) {
  for (let i = 0; i < 3; i++) {
    const res = await whoami({ ...headers, ...extra }, remoteAddress);
    expect(res.statusCode).toBe(401);
  }
}

describe(`failed-authentication lockout (${TEST_BACKEND})`, () => {
  it("an address guessing the general PSK is refused it, while the real PSK works from elsewhere", async () => {
    const attacker = freshAddress();
    await failThrice({ "authorization-psk": "guess-00000000000000" }, attacker);
    const refused = await whoami({ "authorization-psk": TEST_PSK }, attacker);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect((await whoami({ "authorization-psk": TEST_PSK }, freshAddress())).statusCode).toBe(200);
  });

  it("a correct credential that is not under attack still works from a locked-out address; a wrong one gets 429", async () => {
    const shared = freshAddress();
    await failThrice({ "authorization-psk": "guess-11111111111111" }, shared);
    const { key } = await issueKey();
    expect((await whoami({ "authorization-psk": key }, shared)).statusCode).toBe(200);
    const { prefix } = await issueKey();
    const wrong = await whoami({ "authorization-psk": `ghk_${prefix}_wrongwrongwrongwrong` }, shared);
    expect(wrong.statusCode).toBe(429);
  });

  it("a key whose secret is being guessed is refused at the guessing address only", async () => {
    const attacker = freshAddress();
    const { key, prefix } = await issueKey();
    await failThrice({ "authorization-psk": `ghk_${prefix}_guessguessguessguess` }, attacker);
    expect((await whoami({ "authorization-psk": key }, attacker)).statusCode).toBe(429);
    expect((await whoami({ "authorization-psk": key }, freshAddress())).statusCode).toBe(200);
  });

  it("behind a trusted proxy each forwarded client is counted on its own", async () => {
    const attacker = freshAddress();
    const colleague = freshAddress();
    await failThrice({ "authorization-psk": "guess-22222222222222" }, PROXY, { "x-forwarded-for": attacker });
    const viaProxy = (client: string) =>
      whoami({ "authorization-psk": TEST_PSK, "x-forwarded-for": `${client}, ${PROXY}` }, PROXY);
    // the second hop is the trusted proxy itself: the walk goes past it to the client
    expect((await viaProxy(attacker)).statusCode).toBe(429);
    expect((await viaProxy(colleague)).statusCode).toBe(200);
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    const attacker = freshAddress();
    for (let i = 0; i < 3; i++) {
      const res = await whoami(
        { "authorization-psk": "guess-33333333333333", "x-forwarded-for": freshAddress() },
        attacker,
      );
      expect(res.statusCode).toBe(401);
    }
    const res = await whoami({ "authorization-psk": TEST_PSK, "x-forwarded-for": freshAddress() }, attacker);
    expect(res.statusCode).toBe(429);
  });

  it("records the forwarded client's address in the audit trail", async () => {
    const client = freshAddress();
    const res = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      headers: { "x-forwarded-for": client },
      remoteAddress: PROXY,
      payload: { name: `sa-${next}-${Date.now()}`, roles: ["viewer"] },
    });
    expect(res.statusCode).toBe(201);
    const row = await t.db.kysely
      .selectFrom("audit_events")
      .select("client_ip")
      .where("target_id", "=", res.json().id)
      .executeTakeFirstOrThrow();
    expect(row.client_ip).toBe(client);
  });

  it("the decision fast lane applies the same rule to the forwarded client", async () => {
    const s = await seedService(t);
    const attacker = freshAddress();
    await failThrice({ "authorization-psk": "guess-44444444444444" }, "127.0.0.1", { "x-forwarded-for": attacker });
    const decide = (client: string) =>
      fetch(`${base}/v1/decisions`, {
        method: "POST",
        headers: { "content-type": "application/json", "authorization-psk": TEST_PSK, "x-forwarded-for": client },
        body: JSON.stringify({
          service: s.service,
          user: s.alice,
          resource: { catalog: "sales", schema: s.schema, table: "orders" },
          accessType: "select",
        }),
      });
    expect((await decide(attacker)).status).toBe(429);
    const before = t.app.decisionLane.answered;
    expect((await decide(freshAddress())).status).toBe(200);
    expect(t.app.decisionLane.answered).toBe(before + 1);
  });
});

describe("GATEHOUSE_TRUSTED_PROXIES", () => {
  it("names each malformed entry", () => {
    expect(() => loadConfig({ env: { GATEHOUSE_TRUSTED_PROXIES: "10.0.0.1, proxy.local, 10.0.0.0/40" } })).toThrow(
      /GATEHOUSE_TRUSTED_PROXIES: "proxy\.local": must be an IPv4 or IPv6 address[\s\S]*GATEHOUSE_TRUSTED_PROXIES: "10\.0\.0\.0\/40": the prefix length/,
    );
  });
});
