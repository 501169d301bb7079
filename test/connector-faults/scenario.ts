/**
 * The connector fault scenario of issue #15, shared by `npm run test:connector-faults` (1,000
 * changes, the target down for a minute, on both databases) and the short version in the suite
 * (src/connectors/worker-failover.test.ts): a connector over a fresh organisation; a stream of
 * directory changes (groups, nested groups, users, memberships added and removed, renames,
 * deletions) written through the API; the target taken down a quarter of the way through and
 * brought back after `downMs` (and after half of the changes); once it is back and the worker is
 * delivering the backlog, the worker's process is SIGKILLed (on PostgreSQL the other process takes
 * the worker over and a new one joins; on the embedded database the one process starts again on
 * its data); the rest of the changes go to a survivor. Afterwards the report compares the whole
 * target with what Gatehouse holds, runs a dry-run reconcile and reads the connector's status.
 */
import { mulberry32 } from "../support/seeded-random.ts";
import type { ServerProcess } from "../support/server-process.ts";
import type { GatehouseCluster } from "./cluster.ts";
import type { DirectoryModel, FaultTarget } from "./targets.ts";

/** The PSK the cluster's processes accept. */
export const FAULTS_PSK = "connector-faults-psk-0123456789";

/** Environment of the cluster's processes (the database comes from the caller). */
export const FAULTS_ENV = {
  GATEHOUSE_PSK: FAULTS_PSK,
  GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000",
  GATEHOUSE_CONNECTOR_RETRY_MAX_MS: "500",
  GATEHOUSE_CONNECTOR_MAX_ATTEMPTS: "1000",
  GATEHOUSE_CONNECTOR_RECONCILE_SECONDS: "0",
};

export interface FaultScenarioOptions {
  cluster: GatehouseCluster;
  target: FaultTarget;
  /** Directory changes written in all (each one API write). */
  changes: number;
  /** How long the target stays down, at least. */
  downMs: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface FaultReport {
  kind: string;
  seed: number;
  changes: number;
  groups: number;
  memberships: number;
  /** How long the target was down, and how many changes were written meanwhile. */
  downMs: number;
  changesWhileDown: number;
  /** Queued groups when the target came back, and when the worker's process was killed. */
  pendingAtUp: number;
  pendingAtKill: number;
  /** From the kill until another process logged that it leads the connector. */
  takeoverMs: number;
  /** Processes that said they led the connector at once (must be at most 1). */
  mostLeaders: number;
  /** From the target's return until nothing was pending. */
  drainMs: number;
  /** Groups whose content on the target differs from Gatehouse (name: target vs expected). */
  differences: string[];
  /** Groups whose direct members per Gatehouse's API differ from the changes acknowledged. */
  gatehouseDifferences: string[];
  dryRun: { desired: number; counts: Record<string, number> };
  status: { pending: number; failing: number; deadLettered: number };
}

async function call(proc: ServerProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${proc.url}${path}`, {
    method,
    headers: { "authorization-psk": FAULTS_PSK, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the scenario once; the cluster is full again afterwards (a killed process replaced). */
export async function runConnectorFaultScenario(opts: FaultScenarioOptions): Promise<FaultReport> {
  const { cluster, target, changes } = opts;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = mulberry32(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
  const log = opts.log ?? (() => {});
  await cluster.fill();
  const first = cluster.live()[0] as ServerProcess;
  const tag = `${target.kind.slice(0, 2)}${seed.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const org = (await call(first, "POST", "/v1/orgs", { name: `faults-${tag}` })).id as string;
  const connectorId = (await call(first, "POST", "/v1/connectors", target.connector(`faults-${tag}`, org)))
    .id as string;
  let mostLeaders = 0;
  const leader = () => {
    mostLeaders = Math.max(mostLeaders, cluster.leaderCount(connectorId));
    return cluster.leaderOf(connectorId);
  };
  try {
    let led = await until("a leader", leader);
    // write through a process that does not lead (on PostgreSQL), so the kill never cuts a write
    let writer = cluster.live().find((p) => p !== led) ?? led;
    const status = async () => call(writer, "GET", `/v1/connectors/${connectorId}/status`);

    const model: DirectoryModel = { groups: new Map() };
    const groupCount = Math.max(8, Math.round(changes / 20));
    const userCount = Math.max(10, Math.round(changes / 25));
    const users: { id: string; username: string }[] = [];
    const groupIds: string[] = [];
    let done = 0;
    const downAt = Math.floor(changes * 0.25);
    const upAt = Math.floor(changes * 0.75);
    let downSince = 0;
    let downMs = 0;
    let pendingAtUp = 0;
    let pendingAtKill = 0;
    let takeoverMs = 0;
    let upAtTime = 0;
    let renames = 0;
    let refill: Promise<void> = Promise.resolve();

    /** One directory change, chosen by the seeded random once groups and users exist. */
    const change = async (i: number) => {
      if (groupIds.length < groupCount) {
        // groups in trees of four: a top-level group and three children
        const n = groupIds.length;
        const parentId = n % 4 === 0 ? undefined : groupIds[n - (n % 4)];
        const name = `${tag}-g${n}`;
        const id = (await call(writer, "POST", "/v1/groups", { orgId: org, name, ...(parentId ? { parentId } : {}) }))
          .id as string;
        groupIds.push(id);
        model.groups.set(id, { name, parentId, members: new Set() });
        return;
      }
      if (users.length < userCount) {
        const username = `${tag}-u${users.length}`;
        target.addUser(username);
        users.push({ id: (await call(writer, "POST", "/v1/users", { orgId: org, username })).id, username });
        return;
      }
      const live = [...model.groups.keys()];
      const leaves = live.filter((id) => ![...model.groups.values()].some((g) => g.parentId === id));
      const withMembers = live.filter((id) => (model.groups.get(id)?.members.size ?? 0) > 0);
      const slot = i % 20;
      if (i % 100 === 99 && leaves.length > 4) {
        const id = pick(leaves);
        await call(writer, "DELETE", `/v1/groups/${id}?force=true`);
        model.groups.delete(id);
      } else if (slot === 18) {
        const id = pick(live);
        const g = model.groups.get(id) as { name: string };
        g.name = `${tag}-r${renames++}`;
        await call(writer, "PATCH", `/v1/groups/${id}`, { name: g.name });
      } else if (slot >= 14 && withMembers.length > 0) {
        const id = pick(withMembers);
        const g = model.groups.get(id) as { members: Set<string> };
        const username = pick([...g.members]);
        const user = users.find((u) => u.username === username) as { id: string };
        await call(writer, "DELETE", `/v1/groups/${id}/members/${user.id}`);
        g.members.delete(username);
      } else {
        const id = pick(live);
        const user = pick(users);
        await call(writer, "PUT", `/v1/groups/${id}/members/${user.id}`, { role: "member" });
        model.groups.get(id)?.members.add(user.username);
      }
    };

    for (let i = 0; i < changes; i++) {
      if (i === downAt) {
        await target.down();
        downSince = Date.now();
        log(`${target.kind}: target down after ${i} changes`);
      }
      if (i === upAt) {
        const left = opts.downMs - (Date.now() - downSince);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        pendingAtUp = (await status()).pending;
        await target.up();
        upAtTime = Date.now();
        downMs = upAtTime - downSince;
        log(`${target.kind}: target up after ${Math.round(downMs / 1000)} s down; ${pendingAtUp} groups pending`);
        // the worker delivers the backlog: kill its process once some of it has arrived
        await until("delivery to resume", async () => {
          const s = await status();
          return s.pending < pendingAtUp || s.pending === 0 ? s : undefined;
        });
        pendingAtKill = (await status()).pending;
        const victim = leader() as ServerProcess;
        await cluster.kill(victim);
        const killedAt = Date.now();
        log(`${target.kind}: SIGKILLed the worker's process with ${pendingAtKill} groups pending`);
        // the embedded database: the one process starts again on its data; PostgreSQL: the other process
        // takes over while a new one starts to compete again
        if (cluster.live().length === 0) await cluster.fill();
        else refill = cluster.fill();
        led = await until("another process to lead", leader);
        takeoverMs = Date.now() - killedAt;
        writer = cluster.live().find((p) => p !== led) ?? led;
        log(`${target.kind}: worker taken over after ${takeoverMs} ms`);
      }
      await change(i);
      done++;
    }
    const changesWhileDown = upAt - downAt;
    const drainStart = Date.now();
    const final = await until("nothing pending", async () => {
      const s = await status();
      return s.pending === 0 ? s : undefined;
    });
    const drainMs = Date.now() - (upAtTime || drainStart);
    log(`${target.kind}: ${done} changes written; drained ${Math.round(drainMs / 1000)} s after the target came back`);
    leader();

    // Gatehouse's own view must equal the acknowledged changes (direct members per group)
    const gatehouseDifferences: string[] = [];
    const listed = await call(writer, "GET", `/v1/groups?orgId=${org}&limit=1000`);
    if (listed.total !== model.groups.size)
      gatehouseDifferences.push(`groups: ${listed.total} != ${model.groups.size}`);
    for (const [id, g] of model.groups) {
      const page = await call(writer, "GET", `/v1/groups/${id}/members?effective=false&limit=1000`);
      const got = page.items.map((m: { user: { username: string } }) => m.user.username).sort();
      const want = [...g.members].sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) gatehouseDifferences.push(`${g.name}: ${got} != ${want}`);
    }
    const expected = target.expected(model);
    const content = await target.content();
    const differences: string[] = [];
    for (const key of new Set([...Object.keys(expected), ...Object.keys(content)])) {
      const a = JSON.stringify(content[key] ?? null);
      const b = JSON.stringify(expected[key] ?? null);
      if (a !== b) differences.push(`${key}: target ${a}, Gatehouse ${b}`);
    }
    const dry = await call(writer, "POST", `/v1/connectors/${connectorId}/reconcile?dryRun=true`);
    const memberships = [...model.groups.values()].reduce((n, g) => n + g.members.size, 0);
    await refill;
    return {
      kind: target.kind,
      seed,
      changes: done,
      groups: model.groups.size,
      memberships,
      downMs,
      changesWhileDown,
      pendingAtUp,
      pendingAtKill,
      takeoverMs,
      mostLeaders,
      drainMs,
      differences,
      gatehouseDifferences,
      dryRun: { desired: dry.desired, counts: dry.counts },
      status: { pending: final.pending, failing: final.failing, deadLettered: final.deadLettered },
    };
  } finally {
    // the database may be shared (the suite's): leave no connector for another process to lead
    const live = cluster.live()[0];
    if (live) await call(live, "DELETE", `/v1/connectors/${connectorId}`).catch(() => {});
  }
}
