import { randomBytes } from "node:crypto";
import { createServer, type Server, Socket } from "node:net";
import { Attribute, Change, Client, type SearchOptions, type SearchResult } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestLdap, type TestLdap } from "../../../test/support/ldap.ts";
import { TEST_PSK, type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { runCli } from "../../cli/index.ts";
import { seedService } from "../../decisions/test-seed.ts";
import { LDAP_DEFAULTS, type LdapConfig } from "../ldap-config.ts";
import { readDirectory } from "./read-directory.ts";
import { runDueSources } from "./scheduler.ts";

const BASE = "dc=example,dc=org";
/** Names carry a per-run prefix: the PostgreSQL test database outlives runs, and usernames are global to decisions. */
const P = `s${randomBytes(3).toString("hex")}`;
const USERS = 1200;
const PAGE = 500;
const pad = (n: number) => String(n).padStart(4, "0");
const uid = (n: number) => `${P}-u${pad(n)}`;
const userDn = (n: number) => `uid=${uid(n)},ou=people,${BASE}`;
const groupDn = (name: string) => `cn=${P}-${name},ou=groups,${BASE}`;

function fixture(): string {
  const out = [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: cn=reader,${BASE}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: reader-secret\n`,
    `dn: uid=${P}-local,ou=people,${BASE}\nobjectClass: inetOrgPerson\ncn: Clash\nsn: Clash\nuid: ${P}-local\n`,
  ];
  for (let i = 1; i <= USERS; i++) {
    out.push(
      `dn: ${userDn(i)}\nobjectClass: inetOrgPerson\ncn: User ${i}\nsn: ${i}\nuid: ${uid(i)}\nmail: ${uid(i)}@example.org\ndisplayName: User ${i}\n`,
    );
  }
  const group = (name: string, members: string[]) =>
    `dn: ${groupDn(name)}\nobjectClass: groupOfNames\ncn: ${P}-${name}\n${members.map((m) => `member: ${m}`).join("\n")}\n`;
  out.push(group("data", [userDn(1), userDn(2), userDn(6)]));
  out.push(group("eng", [groupDn("data"), userDn(3)]));
  out.push(group("sales", [userDn(4)]));
  out.push(group("clash", [userDn(5)]));
  out.push(
    group(
      "big",
      Array.from({ length: USERS }, (_, i) => userDn(i + 1)),
    ),
  );
  return out.join("\n");
}

let t: TestApp;
let ldap: TestLdap;
let orgId: string;
let sourceId: string;
let sourceName: string;

async function sync(id: string, query = "wait=true") {
  const res = await t.request({ method: "POST", url: `/v1/identity-sources/${id}/sync?${query}` });
  expect([200, 202], res.body).toContain(res.statusCode);
  return res.json();
}

async function createSource(org: string, url: string, extra: Partial<LdapConfig> = {}) {
  const res = await t.request({
    method: "POST",
    url: "/v1/identity-sources",
    payload: {
      orgId: org,
      name: `${P}-${randomBytes(2).toString("hex")}`,
      kind: "ldap",
      config: { url, bindDn: ldap.bindDn, baseDn: BASE, pageSize: PAGE, ...extra },
      bindCredential: ldap.bindPassword,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  sourceName = res.json().name;
  return res.json().id as string;
}

async function newOrg() {
  const res = await t.request({
    method: "POST",
    url: "/v1/orgs",
    payload: { name: `${P}-${randomBytes(3).toString("hex")}` },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function groupRow(name: string) {
  return t.db.kysely
    .selectFrom("groups")
    .where("org_id", "=", orgId)
    .where("name", "=", `${P}-${name}`)
    .selectAll()
    .executeTakeFirst();
}

async function userRow(n: number | string) {
  return t.db.kysely
    .selectFrom("users")
    .where("org_id", "=", orgId)
    .where("username", "=", typeof n === "number" ? uid(n) : n)
    .selectAll()
    .executeTakeFirst();
}

async function directGroups(n: number): Promise<string[]> {
  const user = await userRow(n);
  const rows = await t.db.kysely
    .selectFrom("group_members")
    .innerJoin("groups", "groups.id", "group_members.group_id")
    .where("group_members.user_id", "=", user?.id as string)
    .select("groups.name")
    .execute();
  return rows.map((r) => r.name.slice(P.length + 1)).sort();
}

const member = (operation: "add" | "delete", dn: string) =>
  new Change({ operation, modification: new Attribute({ type: "member", values: [dn] }) });

async function asAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: ldap.url });
  await client.bind(ldap.adminDn, ldap.adminPassword);
  try {
    return await fn(client);
  } finally {
    await client.unbind();
  }
}

beforeAll(async () => {
  [t, ldap] = await Promise.all([testApp(), startTestLdap({ ldif: fixture() })]);
  orgId = await newOrg();
  // A local user and a local group whose names the directory also uses: conflicts, never merged.
  expect(
    (await t.request({ method: "POST", url: "/v1/users", payload: { orgId, username: `${P}-local` } })).statusCode,
  ).toBe(201);
  expect(
    (await t.request({ method: "POST", url: "/v1/groups", payload: { orgId, name: `${P}-clash` } })).statusCode,
  ).toBe(201);
  sourceId = await createSource(orgId, ldap.url);
}, 240_000);

afterAll(async () => {
  await ldap?.stop();
  await t?.app.close();
});

describe(`scheduled LDAP sync against a real slapd (${TEST_BACKEND})`, () => {
  it("refuses a schedule that is neither an interval nor a cron expression, and accepts both", async () => {
    const patch = (syncSchedule: string | null) =>
      t.request({ method: "PATCH", url: `/v1/identity-sources/${sourceId}`, payload: { config: { syncSchedule } } });
    const bad = await patch("every tuesday");
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: "SYNC_SCHEDULE_INVALID" });
    expect(bad.body).toContain("body.config.syncSchedule");
    expect((await patch("*/5 * * * *")).statusCode).toBe(200);
    expect((await patch("5m")).statusCode).toBe(200);
    expect((await patch(null)).statusCode).toBe(200);
  });

  it("previews a run without writing, reporting the conflicts", async () => {
    const run = await sync(sourceId, "dryRun=true");
    expect(run).toMatchObject({ status: "succeeded", dryRun: true, mode: "full" });
    expect(run.counts).toMatchObject({ usersCreated: USERS, groupsCreated: 4, usersRead: USERS + 1, groupsRead: 5 });
    expect(run.conflicts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "usernameTaken", name: `${P}-local` }),
        expect.objectContaining({ kind: "groupNameTaken", name: `${P}-clash` }),
      ]),
    );
    expect(run.changes).toContainEqual({ action: "group.created", dn: groupDn("eng"), name: `${P}-eng` });
    expect(await userRow(1)).toBeUndefined();
  });

  it("imports users (paged past the size limit), groups, nesting and memberships; a second run changes nothing", async () => {
    const run = await sync(sourceId);
    expect(run, JSON.stringify(run.error)).toMatchObject({ status: "succeeded", mode: "full", trigger: "api" });
    expect(run.counts).toMatchObject({
      usersCreated: USERS,
      groupsCreated: 4,
      membershipsAdded: USERS + 5,
      groupsMoved: 1,
    });
    const [eng, data, big, clash] = await Promise.all([
      groupRow("eng"),
      groupRow("data"),
      groupRow("big"),
      groupRow("clash"),
    ]);
    expect(data?.parent_id).toBe(eng?.id);
    expect(eng).toMatchObject({ source: "ldap", identity_source_id: sourceId });
    expect(clash).toMatchObject({ source: "local", identity_source_id: null });
    const members = await t.db.kysely
      .selectFrom("group_members")
      .where("group_id", "=", big?.id as string)
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(members.n)).toBe(USERS);
    expect(await directGroups(1)).toEqual(["big", "data"]);
    const local = await userRow(`${P}-local`);
    expect(local?.source).toBe("local");
    expect(await directGroups(5)).toEqual(["big"]);

    const again = await sync(sourceId, "wait=true&mode=full");
    expect(Object.entries(again.counts).filter(([k, n]) => n !== 0 && !/Read$|Ms$|^conflicts$/.test(k))).toEqual([]);
    const incremental = await sync(sourceId);
    expect(incremental).toMatchObject({ status: "succeeded", mode: "incremental" });
    expect(incremental.counts.membershipsAdded + incremental.counts.membershipsRemoved).toBe(0);

    const list = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/sync-runs?limit=2` });
    expect(list.json()).toMatchObject({ total: 4, items: [{ id: incremental.id }, { id: again.id }] });
    expect(list.json().nextCursor).not.toBeNull();
    const one = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/sync-runs/${run.id}` });
    expect(one.json()).toMatchObject({ id: run.id, status: "succeeded", progress: { users: USERS + 1, groups: 5 } });
    expect(one.json().durationMs).toBeGreaterThanOrEqual(0);
  });

  it("follows moves, renames (by entryUUID) and removals; a removed user is disabled and decisions deny at once", async () => {
    const seeded = await seedService(t);
    const policy = await t.request({
      method: "POST",
      url: `/v1/services/${seeded.service}/policies`,
      payload: {
        name: `${P}-p`,
        resources: { catalog: { values: ["hr"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
        policyItems: [{ groups: [`${P}-eng`], accesses: [{ type: "select" }] }],
      },
    });
    expect(policy.statusCode, policy.body).toBe(201);
    const decide = async (n: number) =>
      ((body) => body.allowed ?? body.code)(
        (
          await t.request({
            method: "POST",
            url: "/v1/decisions",
            payload: {
              service: seeded.service,
              user: uid(n),
              resource: { catalog: "hr", schema: "x", table: "y" },
              accessType: "select",
            },
          })
        ).json(),
      );
    expect(await decide(2)).toBe(true); // through data → eng
    const salesBefore = await groupRow("sales");

    await asAdmin(async (client) => {
      // user 1 moves from data to sales; user 2 leaves the directory; sales is renamed.
      await client.modify(groupDn("data"), [member("delete", userDn(1))]);
      await client.modify(groupDn("sales"), [member("add", userDn(1))]);
      await client.modify(groupDn("data"), [member("delete", userDn(2))]);
      await client.modify(groupDn("big"), [member("delete", userDn(2))]);
      await client.del(userDn(2));
      await client.modifyDN(groupDn("sales"), `cn=${P}-sales-emea`);
    });
    await new Promise((r) => setTimeout(r, 1100)); // modifyTimestamp has whole seconds

    const incremental = await sync(sourceId, "wait=true&mode=incremental");
    expect(incremental).toMatchObject({ status: "succeeded", mode: "incremental" });
    expect(incremental.counts).toMatchObject({ groupsUpdated: 1, usersDisabled: 0 });
    const renamed = await groupRow("sales-emea");
    expect(renamed?.id).toBe(salesBefore?.id);
    expect(await directGroups(1)).toEqual(["big", "sales-emea"]);

    const full = await sync(sourceId, "wait=true&mode=full");
    expect(full.counts).toMatchObject({ usersDisabled: 1, usersCreated: 0 });
    expect(full.changes).toContainEqual({ action: "user.disabled", dn: userDn(2) });
    expect((await userRow(2))?.status).toBe("disabled");
    // A disabled user is unknown to decisions: never allowed (DECISION_USER_UNKNOWN).
    expect(await decide(2)).toBe("DECISION_USER_UNKNOWN");
    expect(await decide(3)).toBe(true);

    // A group that leaves is disabled, not deleted: its grants stop and its children move up.
    await asAdmin((client) => client.del(groupDn("eng")));
    const gone = await sync(sourceId, "wait=true&mode=full");
    expect(gone.counts).toMatchObject({ groupsDisabled: 1, groupsMoved: 1 });
    expect((await groupRow("eng"))?.disabled_at).not.toBeNull();
    expect((await groupRow("data"))?.parent_id).toBeNull();
    expect(await decide(3)).toBe(false);
    const audit = await t.db.kysely
      .selectFrom("audit_events")
      .where("action", "in", ["user.disabled", "group.disabled", "identity_source.synced"])
      .where("org_id", "=", orgId)
      .select("action")
      .execute();
    expect(new Set(audit.map((a) => a.action))).toEqual(
      new Set(["user.disabled", "group.disabled", "identity_source.synced"]),
    );
  });

  it("follows Active Directory's ranged member retrieval (a client double ranges slapd's answers)", async () => {
    const client = new Client({ url: ldap.url });
    await client.bind(ldap.bindDn, ldap.bindPassword);
    const ranged = rangingClient(client, 100);
    const config: LdapConfig = { ...LDAP_DEFAULTS, url: ldap.url, baseDn: BASE, pageSize: PAGE } as LdapConfig;
    const snapshot = await readDirectory(ranged.client, config, null, () => {});
    await client.unbind();
    const big = snapshot.groups.find((g) => g.name === `${P}-big`);
    expect(ranged.rangeRequests()).toBeGreaterThan(5);
    expect(big?.members.length).toBe(USERS - 1);
    expect(new Set(big?.members).size).toBe(USERS - 1);
  });

  it("fails cleanly when the directory goes away mid-run, and the next run completes", async () => {
    const org = await newOrg();
    const proxy = await cuttingProxy(Number(new URL(ldap.url).port));
    const id = await createSource(org, proxy.url);
    proxy.cutAfter(60_000); // bytes from slapd: within the first pages of users
    const failed = await sync(id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toBeTruthy();
    const users = await t.db.kysely.selectFrom("users").where("org_id", "=", org).select("id").execute();
    expect(users).toEqual([]);
    proxy.cutAfter(null);
    const next = await sync(id);
    expect(next).toMatchObject({ status: "succeeded", mode: "full" });
    expect(next.counts.usersCreated).toBe(USERS); // user 2 is gone, the clash user is not local here
    await proxy.close();
  });

  it("never runs one source twice at once", async () => {
    const first = await sync(sourceId, "mode=full");
    const second = await t.request({ method: "POST", url: `/v1/identity-sources/${sourceId}/sync?mode=full` });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: "SYNC_RUNNING" });
    let run = first;
    while (run.status === "running") {
      await new Promise((r) => setTimeout(r, 50));
      run = (await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/sync-runs/${first.id}` })).json();
    }
    expect(run.status).toBe("succeeded");
  });

  it("the scheduler runs a source whose schedule is due, once", async () => {
    const patch = await t.request({
      method: "PATCH",
      url: `/v1/identity-sources/${sourceId}`,
      payload: { config: { syncSchedule: "5m" } },
    });
    expect(patch.statusCode).toBe(200);
    const later = new Date(Date.now() + 6 * 60_000);
    const runs = await runDueSources({ db: t.db }, later);
    expect(runs.filter((r) => r.sourceId === sourceId)).toMatchObject([{ trigger: "schedule", status: "succeeded" }]);
    // Just ran: not due again until five minutes after this run started.
    expect((await runDueSources({ db: t.db }, new Date())).filter((r) => r.sourceId === sourceId)).toEqual([]);
    await t.request({
      method: "PATCH",
      url: `/v1/identity-sources/${sourceId}`,
      payload: { config: { syncSchedule: null } },
    });
  });

  it("gatehouse sync SOURCE runs a sync by name and prints its counts", async () => {
    const org = await newOrg();
    sourceId = await createSource(org, ldap.url);
    const server = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const out: string[] = [];
    const stdout = process.stdout.write;
    const stderr = process.stderr.write;
    const capture = ((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
    let code: number;
    try {
      code = await runCli([
        "node",
        "gatehouse",
        "sync",
        sourceName,
        "--org",
        org,
        "--server",
        server,
        "--psk",
        TEST_PSK,
      ]);
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    expect(code, out.join("")).toBe(0);
    expect(out.join("")).toMatch(/full sync: (reading|applying): \d+ users/); // the progress line
    expect(out.join("")).toMatch(/full sync succeeded in \d+ ms: .*usersCreated=\d+/);
  });
});

/**
 * Wraps a real ldapts client so it answers like Active Directory for big groups: a `member` list
 * longer than `size` comes back as `member;range=0-(size-1)`, and a base search for
 * `member;range=a-*` returns the next slice, ending in `*`. slapd itself never ranges.
 */
function rangingClient(client: Client, size: number) {
  let requests = 0;
  const cut = (entry: Record<string, unknown>, from: number) => {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === "member");
    if (!key) return entry;
    const all = ([] as string[]).concat(entry[key] as string[]);
    if (from === 0 && all.length <= size) return entry;
    const { [key]: _, ...rest } = entry;
    const last = from + size >= all.length ? "*" : String(from + size - 1);
    return { ...rest, [`member;range=${from}-${last}`]: all.slice(from, from + size) };
  };
  const wrapped = new Proxy(client, {
    get(target, prop) {
      if (prop === "searchPaginated") {
        return async function* (base: string, options: SearchOptions) {
          for await (const page of target.searchPaginated(base, options)) {
            yield { ...page, searchEntries: page.searchEntries.map((e) => cut(e, 0)) } as SearchResult;
          }
        };
      }
      if (prop === "search") {
        return async (base: string, options: SearchOptions) => {
          const asked = (options.attributes ?? []).find((a) => /^member;range=/i.test(a));
          if (!asked) return target.search(base, options);
          requests++;
          const from = Number(/range=(\d+)-/.exec(asked)?.[1]);
          const result = await target.search(base, { ...options, attributes: ["member"] });
          return { ...result, searchEntries: result.searchEntries.map((e) => cut(e, from)) };
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { client: wrapped, rangeRequests: () => requests };
}

/** A TCP proxy to slapd that closes every connection once `cutAfter` bytes came from the server. */
async function cuttingProxy(port: number) {
  let limit: number | null = null;
  const sockets = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = new Socket();
    let seen = 0;
    sockets.add(downstream).add(upstream);
    upstream.connect(port, "127.0.0.1");
    downstream.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (limit !== null && seen > limit) {
        upstream.destroy();
        downstream.destroy();
        return;
      }
      downstream.write(chunk);
    });
    const end = () => {
      upstream.destroy();
      downstream.destroy();
    };
    upstream.on("error", end).on("close", end);
    downstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `ldap://127.0.0.1:${address.port}`,
    cutAfter(bytes: number | null) {
      limit = bytes;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
