import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { buildApp } from "../../src/app.ts";
import { hashSecret } from "../../src/auth/secrets.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Db } from "../../src/storage/db.ts";
import { testDb } from "./test-db.ts";

/** The general PSK of test apps. */
export const TEST_PSK = "test-general-psk-0123456789";

/** Headers that authenticate as the general PSK (full administrator). */
export const asAdmin = { "authorization-psk": TEST_PSK } as const;

const AUTH_HEADERS = new Set(["authorization", "authorization-psk", "x-authentication"]);

/** A test app: the real app on the worker's test database, driven with `inject`. */
export interface TestApp {
  app: FastifyInstance;
  db: Db;
  config: Config;
  /** `app.inject` with the general PSK unless the headers carry credentials of their own. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** Builds the app as `main.ts` would, with config overrides (environment-variable names). */
export async function testApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await testDb();
  const config = loadConfig({ env: { GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "silent", ...env } });
  const app = await buildApp({ config, db, generalPskHash: hashSecret(config.psk ?? TEST_PSK) });
  await app.ready();
  return {
    app,
    db,
    config,
    request: (options) => {
      const headers = (options.headers ?? {}) as Record<string, string>;
      const own = Object.keys(headers).some((h) => AUTH_HEADERS.has(h.toLowerCase()));
      return app.inject({ ...options, headers: own ? headers : { ...asAdmin, ...headers } });
    },
  };
}
