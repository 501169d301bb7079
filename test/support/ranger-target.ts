// A second Gatehouse server process standing in for an external Ranger Admin: it serves Ranger's
// user and group API (`/service/xusers/...`, src/ranger/usersync) on real HTTP, from its own
// embedded database in a temp folder, so connector tests write to it exactly as to Ranger. It can
// be stopped and started again on the same port with the same data (a target that goes down).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./daemon.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";

const PSK = "ranger-target-psk-0123456789";
/** A few seconds on an idle machine; minutes on a loaded one (the start imports and migrates). */
const START_TIMEOUT_MS = 450_000;

/** The Ranger stand-in: where it listens, the account connectors use, and start/stop. */
export interface RangerTargetServer {
  url: string;
  username: string;
  password: string;
  /** A call on its Ranger API as the connector's account; answers the parsed JSON body. */
  call(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }>;
  /** Every visible group's members, by group name (Ranger's `GET ugsync/groupusers`). */
  groupUsers(): Promise<Record<string, string[]>>;
  /** Visible group names. */
  visibleGroups(): Promise<string[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts the stand-in and creates its service account (roles `directory-admin` for the user API
 * and `policy-admin` for the public v2 policy API that pushes policies).
 */
export async function startRangerTarget(): Promise<RangerTargetServer> {
  const dir = mkdtempSync(join(tmpdir(), "gh-ranger-target-"));
  const port = await freePort();
  let proc: ServerProcess | null = null;
  const start = async () => {
    proc = await startServerProcess(
      {
        GATEHOUSE_PSK: PSK,
        GATEHOUSE_DATA_DIR: dir,
        GATEHOUSE_PORT: String(port),
        GATEHOUSE_LOG_LEVEL: "info",
        GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000",
        GATEHOUSE_CONNECTOR_WORKERS: "false",
      },
      START_TIMEOUT_MS,
    );
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.child.exitCode !== null) return;
    p.child.kill("SIGTERM");
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (p.child.exitCode === null) {
      p.child.kill("SIGKILL");
      await p.exited;
    }
  };
  await start();
  const url = `http://127.0.0.1:${port}`;
  const account = (await fetch(`${url}/v1/service-accounts`, {
    method: "POST",
    headers: { "authorization-psk": PSK, "content-type": "application/json" },
    body: JSON.stringify({ name: `connector-${Date.now()}`, roles: ["directory-admin", "policy-admin"] }),
  }).then((r) => r.json())) as { clientId: string; clientSecret: string };
  const authorization = `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString("base64")}`;
  const call: RangerTargetServer["call"] = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const visibleGroups = async () => {
    const names: string[] = [];
    for (;;) {
      const page = (await call("GET", `/service/xusers/groups?isVisible=1&pageSize=1000&startIndex=${names.length}`))
        .body as { vXGroups?: { name: string }[]; totalCount: number };
      const list = page.vXGroups ?? [];
      names.push(...list.map((g) => g.name));
      if (list.length === 0 || names.length >= page.totalCount) return names.sort();
    }
  };
  const groupUsers = async () => {
    const visible = new Set(await visibleGroups());
    const all = (await call("GET", "/service/xusers/ugsync/groupusers")).body as Record<string, string[]>;
    return Object.fromEntries(
      Object.entries(all)
        .filter(([g]) => visible.has(g))
        .map(([g, users]) => [g, [...users].sort()]),
    );
  };
  return {
    url,
    username: account.clientId,
    password: account.clientSecret,
    call,
    groupUsers,
    visibleGroups,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
