import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drained as drainedIn, ok as okAs } from "../../../test/support/connectors.ts";
import { uniqueName } from "../../../test/support/factories.ts";
import { KeycloakDouble } from "../../../test/support/keycloak-double.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";

// A keycloak connector end to end: configured through /v1/connectors, filled by the outbox and the
// worker, delivered through the Keycloak target and the vendor's admin client to the contract
// double of Keycloak's admin REST API (no Keycloak runs here: docs/connectors-keycloak.md).

// the double's default client: a service account holding every realm-management role
const CLIENT = { clientId: "gatehouse-sync", secret: "s3cret" };
let t: TestApp;
let kc: KeycloakDouble;
const created: string[] = [];
beforeAll(async () => {
  kc = new KeycloakDouble({ realm: "data" });
  await kc.start();
  t = await testApp({
    GATEHOUSE_CONNECTOR_RETRY_MAX_MS: "300",
    GATEHOUSE_CONNECTOR_WAIT_MS: "5000",
    GATEHOUSE_CONNECTOR_RECONCILE_SECONDS: "0",
  });
}, 300_000);
afterAll(async () => {
  for (const id of created) await t?.request({ method: "DELETE", url: `/v1/connectors/${id}` });
  await t?.app.close();
  await kc?.close();
});

const ok = (method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", url: string, payload?: unknown) =>
  okAs(t, method, url, payload);

const drained = (connector: string, timeoutMs?: number) => drainedIn(t, connector, timeoutMs);

describe(`keycloak connector through the framework (${TEST_BACKEND})`, () => {
  it("carries nested groups and direct members, reports a missing user, reconciles drift", async () => {
    const org = (await ok("POST", "/v1/orgs", { name: uniqueName("org") })).id;
    const connector = await ok("POST", "/v1/connectors", {
      name: uniqueName("kc"),
      kind: "keycloak",
      orgIds: [org],
      config: { baseUrl: kc.baseUrl, realm: "data", clientId: CLIENT.clientId, maxAttempts: 1000, retryMaxMs: 300 },
      clientSecret: CLIENT.secret,
    });
    created.push(connector.id);
    expect(JSON.stringify(connector)).not.toContain(CLIENT.secret);
    expect((await ok("POST", `/v1/connectors/${connector.id}/test`)).ok).toBe(true);

    const tag = uniqueName("g").slice(2, 10);
    kc.addUser(`ann-${tag}`);
    const parent = await ok("POST", "/v1/groups", { orgId: org, name: `eng-${tag}` });
    const child = await ok("POST", "/v1/groups", { orgId: org, name: `data-${tag}`, parentId: parent.id });
    const ann = (await ok("POST", "/v1/users", { orgId: org, username: `ann-${tag}` })).id;
    const ghost = (await ok("POST", "/v1/users", { orgId: org, username: `ghost-${tag}` })).id;
    await ok("PUT", `/v1/groups/${child.id}/members/${ann}`, { role: "member" });
    await ok("PUT", `/v1/groups/${child.id}/members/${ghost}`, { role: "member" });
    await drained(connector.id);

    // nested as a subgroup under the same path, with the Gatehouse id; direct members only
    const sub = kc.groupAt([`eng-${tag}`, `data-${tag}`]);
    expect(sub?.attributes["gatehouse.id"]).toEqual([child.id]);
    expect(sub?.members).toEqual([`ann-${tag}`]);
    expect(kc.groupAt([`eng-${tag}`])?.members).toEqual([]);

    // a change made by hand in Keycloak shows in a dry-run reconcile and is repaired
    kc.joinDirectly(`ann-${tag}`, [`eng-${tag}`]);
    const dry = await ok("POST", `/v1/connectors/${connector.id}/reconcile?dryRun=true`);
    // the hand-made membership, and ghost: a member Keycloak has no user for (reported, not created)
    expect(dry.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: "members",
          groupId: parent.id,
          detail: { lacking: [], surplus: [`ann-${tag}`] },
        }),
        expect.objectContaining({
          kind: "members",
          groupId: child.id,
          detail: { lacking: [`ghost-${tag}`], surplus: [] },
        }),
      ]),
    );
    expect(dry.counts.members).toBe(2);
    expect(kc.groupAt([`eng-${tag}`])?.members).toEqual([`ann-${tag}`]); // the dry run changed nothing
    await ok("POST", `/v1/connectors/${connector.id}/reconcile`);
    expect(kc.groupAt([`eng-${tag}`])?.members).toEqual([]);
    const again = await ok("POST", `/v1/connectors/${connector.id}/reconcile?dryRun=true`);
    expect(again.counts).toEqual({ missing: 0, extra: 0, members: 1, attributes: 0 }); // ghost still has no user

    // Keycloak down: the change stays queued and arrives once it is back
    await kc.down();
    await ok("PATCH", `/v1/groups/${child.id}`, { name: `data2-${tag}` });
    await new Promise((r) => setTimeout(r, 500));
    expect((await ok("GET", `/v1/connectors/${connector.id}/status`)).pending).toBeGreaterThan(0);
    await kc.up();
    await drained(connector.id);
    expect(kc.groupAt([`eng-${tag}`, `data2-${tag}`])?.attributes["gatehouse.id"]).toEqual([child.id]);
    expect(kc.groupAt([`eng-${tag}`, `data-${tag}`])).toBeUndefined();
  });
});
