import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PSK, testApp } from "../support/test-app.ts";
import { TEST_BACKEND } from "../support/test-db.ts";
import { describe as describeOutcome, FAMILIES, type Family, fuzzFamily } from "./http-fuzz.ts";

// Issue #13: no input makes Gatehouse fail, stall or lose data. A seeded fuzz per route family
// against a real listening server (raw bytes and connections are real); `npm run fuzz:http` runs
// the same with thousands of requests and reports timings.

const PER_FAMILY = Number(process.env.GATEHOUSE_FUZZ_REQUESTS ?? 150);
const SEED = Number(process.env.GATEHOUSE_FUZZ_SEED ?? 13);
/** A stall shows as a health probe that waited this long; timings themselves are `fuzz:http`'s job. */
const RSS_GROWTH_LIMIT = 768 * 1024 * 1024;

let t: Awaited<ReturnType<typeof testApp>>;
let port: number;
let doc: Record<string, unknown>;

beforeAll(async () => {
  t = await testApp();
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  port = (t.app.server.address() as AddressInfo).port;
  doc = (await t.app.inject({ url: "/openapi.json" })).json();
}, 180_000);

afterAll(async () => {
  await t?.app.close();
});

describe(`HTTP fuzz per route family (${TEST_BACKEND})`, () => {
  for (const family of Object.keys(FAMILIES) as Family[]) {
    it(`${family}: no 5xx, no reset, /healthz answers throughout, RSS bounded`, async () => {
      const report = await fuzzFamily({
        port,
        doc,
        family,
        count: PER_FAMILY,
        seed: SEED + family.length,
        bodyLimit: t.config.bodyLimitBytes,
        auth: { "authorization-psk": TEST_PSK, "x-authentication": TEST_PSK },
      });
      expect(report.serverErrors.map(describeOutcome)).toEqual([]);
      expect(report.resets.map(describeOutcome)).toEqual([]);
      expect(report.healthFailures).toBe(0);
      expect(report.rssAfter - report.rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
    }, 120_000);
  }
});
