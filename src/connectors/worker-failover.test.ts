import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type RangerTargetServer, startRangerTarget } from "../../test/support/ranger-target.ts";
import { type ServerProcess, startServerProcess } from "../../test/support/server-process.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

// The connector worker's process dies mid-delivery (SIGKILL). On PostgreSQL two server processes
// compete for the worker (one leads by advisory lock; the other takes over when the leader is
// killed); on the embedded database the one process is killed and started again on its data.
// Afterwards the Ranger target matches Gatehouse exactly and nothing is left queued. Server
// starts take seconds, far more on a loaded machine, hence the generous timeout.

const PSK = "failover-psk-0123456789abcdef";
/** Seconds on an idle machine, minutes on a loaded one. */
const START_TIMEOUT_MS = 450_000;
const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
const dataDir = url ? null : mkdtempSync(join(tmpdir(), "gh-failover-"));
const env = {
  GATEHOUSE_PSK: PSK,
  GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000",
  GATEHOUSE_CONNECTOR_RETRY_MAX_MS: "300",
  GATEHOUSE_CONNECTOR_RECONCILE_SECONDS: "0",
  ...(url ? { GATEHOUSE_DATABASE_URL: url } : { GATEHOUSE_DATA_DIR: dataDir as string }),
};
const procs: ServerProcess[] = [];
let ranger: RangerTargetServer | undefined;
let connectorId: string | undefined;
afterAll(async () => {
  const live = procs.find((p) => p.child.exitCode === null && p.child.signalCode === null);
  if (live && connectorId) await call(live, "DELETE", `/v1/connectors/${connectorId}`).catch(() => {});
  for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await ranger?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

async function call(proc: ServerProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${proc.url}${path}`, {
    method,
    headers: { "authorization-psk": PSK, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const leads = (p: ServerProcess, id: string) =>
  p.output().includes(`"connectorId":"${id}"`) && /"msg":"connector: leading delivery"/.test(p.output());

describe(`connector worker failover (${TEST_BACKEND})`, () => {
  it("delivers everything exactly once in effect across SIGKILL of the worker's process", {
    timeout: 600_000,
  }, async () => {
    const [target, a, b] = await Promise.all([
      startRangerTarget(),
      startServerProcess(env, START_TIMEOUT_MS),
      url ? startServerProcess(env, START_TIMEOUT_MS) : Promise.resolve(null),
    ]);
    ranger = target;
    procs.push(a);
    if (b) procs.push(b);
    const org = (await call(a, "POST", "/v1/orgs", { name: uniqueName("org") })).id as string;
    const connector = await call(a, "POST", "/v1/connectors", {
      name: uniqueName("failover"),
      kind: "ranger",
      orgIds: [org],
      config: { baseUrl: target.url, username: target.username },
      password: target.password,
    });
    connectorId = connector.id as string;
    const id = connectorId;
    const leader = await until("a leader", () => [a, b].find((p) => p && leads(p, id)) ?? undefined);
    // two processes compete: exactly one leads
    expect([a, b].filter((p) => p && leads(p, id))).toHaveLength(1);

    const tag = uniqueName("f").slice(2, 10);
    let writer = b && leader === b ? a : (b ?? a);
    // 200 changes: 20 groups, 30 users, 150 memberships; the leader dies after the 120th
    const groups: string[] = [];
    for (let i = 0; i < 20; i++)
      groups.push((await call(writer, "POST", "/v1/groups", { orgId: org, name: `f${i}-${tag}` })).id);
    const users: string[] = [];
    for (let i = 0; i < 30; i++)
      users.push((await call(writer, "POST", "/v1/users", { orgId: org, username: `u${i}-${tag}` })).id);
    let survivor: ServerProcess = writer;
    for (let i = 0; i < 150; i++) {
      if (i === 70) {
        leader.child.kill("SIGKILL");
        await leader.exited;
        if (!b) {
          // the embedded database: the one process starts again on its data
          survivor = await startServerProcess(env, START_TIMEOUT_MS);
          procs.push(survivor);
        } else {
          survivor = leader === a ? b : a;
        }
        writer = survivor;
      }
      const remove = i % 10 === 9;
      const group = groups[i % 20] as string;
      const user = users[(i * 7) % 30] as string;
      if (remove)
        await call(writer, "DELETE", `/v1/groups/${group}/members/${users[((i - 1) * 7) % 30]}`).catch(() => {});
      else await call(writer, "PUT", `/v1/groups/${group}/members/${user}`, { role: "member" });
    }
    await until("the survivor to lead", () => (leads(survivor, id) ? true : undefined));
    await until("an empty queue", async () => {
      const status = await call(survivor, "GET", `/v1/connectors/${id}/status`);
      return status.pending === 0 ? status : undefined;
    });
    const dry = await call(survivor, "POST", `/v1/connectors/${id}/reconcile?dryRun=true`);
    expect(dry.desired).toBe(20);
    expect(dry.counts).toEqual({ missing: 0, extra: 0, members: 0, attributes: 0 });
    const members = await call(survivor, "GET", `/v1/groups/${groups[0]}/members?limit=100`);
    const onTarget = await target.groupUsers();
    expect(onTarget[`f0-${tag}`]).toEqual(
      members.items.map((m: { user: { username: string } }) => m.user.username).sort(),
    );
    const status = await call(survivor, "GET", `/v1/connectors/${id}/status`);
    expect(status).toMatchObject({ pending: 0, failing: 0, deadLettered: 0 });
  });
});
