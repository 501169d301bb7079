import { describe, expect, it } from "vitest";
import { TEST_PSK } from "../../../test/support/test-app.ts";
import { testDb } from "../../../test/support/test-db.ts";
import { buildApp } from "../../app.ts";
import { hashSecret } from "../../auth/secrets.ts";
import { loadConfig } from "../../config/load.ts";
import type { Db } from "../../storage/db.ts";

/** The worker's database behind a switch that makes every query fail like a lost server. */
async function switchableDb(): Promise<{ db: Db; setDown: (down: boolean) => void }> {
  const real = await testDb();
  let down = false;
  const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const kysely = new Proxy(real.kysely, {
    get(target, prop, receiver) {
      if (down) throw refused();
      return Reflect.get(target, prop, receiver);
    },
  });
  const db: Db = {
    ...real,
    kysely,
    transaction: (fn) => (down ? Promise.reject(refused()) : real.transaction(fn)),
  };
  return { db, setDown: (value) => (down = value) };
}

describe("Nx1 routes when the database is unavailable", () => {
  it("answer 503 ErrorResponse", async () => {
    const { db, setDown } = await switchableDb();
    const config = loadConfig({ env: { GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
    const app = await buildApp({ config, db, generalPskHash: hashSecret(TEST_PSK) });
    await app.ready();
    setDown(true);
    const headers = { "authorization-psk": TEST_PSK };
    const created = await app.inject({
      method: "POST",
      url: "/api/govern/data-access/policies",
      headers,
      payload: { name: "p", resources: { catalog: { values: ["c"] } } },
    });
    expect(created.statusCode).toBe(503);
    expect(created.json()).toEqual({ error: "the database is unavailable; retry shortly", code: 503 });
    const got = await app.inject({ method: "GET", url: "/api/govern/data-access/policies/1", headers });
    expect(got.statusCode).toBe(503);
    expect(got.json().code).toBe(503);
    setDown(false);
    await app.close();
  });
});
