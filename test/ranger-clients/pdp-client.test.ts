import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { seedHiveService } from "../../src/ranger/pdp/pdp-seed.ts";
import { uniqueName } from "../support/factories.ts";
import { runRangerDriver } from "../support/ranger-python.ts";
import { type TestApp, testApp } from "../support/test-app.ts";

// Apache Ranger's own RangerPDPClient against Gatehouse listening on loopback: a proxy-named
// delegation user (the trusted header from 127.0.0.1), a service account by Basic credentials,
// and a user asking about itself.
const gateway = uniqueName("pdp-gateway");
const proxied = "hive";
let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await testApp({
    GATEHOUSE_RANGER_PDP_USER_HEADER: "X-Forwarded-User",
    GATEHOUSE_RANGER_PDP_TRUSTED_NETWORKS: "127.0.0.1,::1",
    GATEHOUSE_RANGER_PDP_DELEGATION_USERS: `*=${proxied},${gateway}`,
  });
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await t?.app.close();
});

it("serves Ranger's PDP client: authorize, authorize_multi, get_resource_permissions and filterResources", async () => {
  const seed = await seedHiveService(t);
  const account = await t.request({
    method: "POST",
    url: "/v1/service-accounts",
    payload: { name: gateway, roles: ["gatehouse-admin"] },
  });
  expect(account.statusCode, account.body).toBe(201);
  const { clientId, clientSecret } = account.json() as { clientId: string; clientSecret: string };

  const { results, exitCode, log } = await runRangerDriver(
    "pdp_client.py",
    url,
    { user: clientId, password: clientSecret },
    {
      PDP_SERVICE: seed.service,
      PDP_ALICE: seed.alice,
      PDP_BOB: seed.bob,
      PDP_ANALYSTS: seed.analysts,
      PDP_ACCESS_POLICY: String(seed.accessPolicyId),
      PDP_ROW_FILTER_POLICY: String(seed.rowFilterPolicyId),
      PDP_MASK_POLICY: String(seed.maskPolicyId),
      PDP_HEADER_DELEGATE: proxied,
    },
  );
  expect(exitCode, log).toBe(0);
  expect(
    results.filter((r) => !r.ok),
    log,
  ).toEqual([]);
  expect(results.map((r) => r.method).sort()).toEqual([
    ...Array(7).fill("authorize"),
    ...Array(2).fill("authorize_multi"),
    "filter_resources",
    ...Array(2).fill("get_resource_permissions"),
  ]);
}, 120_000);
