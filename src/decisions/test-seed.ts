import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, expect } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";

/** A service with one analyst group, a user in it, and a user outside it. */
export async function seedService(app: TestApp) {
  const service = uniqueName("svc");
  const analysts = uniqueName("analysts");
  const alice = uniqueName("alice");
  const bob = uniqueName("bob");
  const schema = uniqueName("eu");
  expect(
    (await app.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } })).statusCode,
  ).toBe(201);
  const group = (await app.request({ method: "POST", url: "/v1/groups", payload: { name: analysts } })).json();
  const a = (await app.request({ method: "POST", url: "/v1/users", payload: { username: alice } })).json();
  const b = (await app.request({ method: "POST", url: "/v1/users", payload: { username: bob } })).json();
  expect((await app.request({ method: "PUT", url: `/v1/groups/${group.id}/members/${a.id}` })).statusCode).toBe(201);
  const policy = await app.request({
    method: "POST",
    url: `/v1/services/${service}/policies`,
    payload: {
      name: uniqueName("p"),
      resources: { catalog: { values: ["sales"] }, schema: { values: [schema] }, table: { values: ["*"] } },
      policyItems: [{ groups: [analysts], accesses: [{ type: "select" }] }],
    },
  });
  expect(policy.statusCode).toBe(201);
  return {
    service,
    analysts,
    alice,
    bob,
    schema,
    aliceId: a.id as string,
    bobId: b.id as string,
    groupId: group.id as string,
    policy: policy.json(),
  };
}

/** Starts `gatehouse serve` as a separate process on `databaseUrl`; resolves with its URL. */
export async function spawnServer(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["src/main.ts", "serve", "--port", "0", "--host", "127.0.0.1"], {
    env: { ...process.env, GATEHOUSE_DATABASE_URL: databaseUrl, GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  for await (const line of lines) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === "gatehouse listening" && entry.url) return { url: entry.url, child };
  }
  throw new Error("server exited before listening");
}

/**
 * For the two-process propagation tests: registers hooks that start an in-process test app and, when
 * `databaseUrl` is set (PostgreSQL), a second `gatehouse serve` process on the same database; both
 * stop after the file. Read `app()` and `remoteUrl()` inside the tests.
 */
export function useTwoProcesses(databaseUrl: string | undefined): { app(): TestApp; remoteUrl(): string } {
  let app: TestApp | undefined;
  let second: { url: string; child: ChildProcess } | undefined;
  beforeAll(async () => {
    app = await testApp();
    if (databaseUrl) second = await spawnServer(databaseUrl);
  }, 60_000);
  afterAll(async () => {
    await app?.app.close();
    if (second) {
      second.child.kill("SIGTERM");
      await once(second.child, "exit");
    }
  });
  return {
    app: () => app as TestApp,
    remoteUrl: () => (second as { url: string }).url,
  };
}

/** Whether the server at `serverUrl` lets `user` select `sales.<schema>.orders` of `service` (asserts a 200). */
export async function allowedOn(serverUrl: string, service: string, user: string, schema: string): Promise<boolean> {
  const res = await fetch(`${serverUrl}/v1/decisions`, {
    method: "POST",
    headers: { "content-type": "application/json", "authorization-psk": TEST_PSK },
    body: JSON.stringify({
      service,
      user,
      resource: { catalog: "sales", schema, table: "orders" },
      accessType: "select",
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { allowed: boolean }).allowed;
}
