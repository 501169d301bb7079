// LDAP sync benchmark (issue 16): a full sync of 100,000 users and 10,000 groups (500,000
// memberships, 1,000 groups nested) from a local slapd, then an incremental run after 100
// directory changes. Targets: the full run within 180 s with memory flat, the incremental run
// within 2 s. Loading slapd (slapadd of a generated LDIF, offline) is timed apart.
//
// Run through bench/identity/run.ts (`npm run bench:identity [-- --scale 0.1] [-- --pglite]`).
import { loadavg } from "node:os";
import { Attribute, Change, Client } from "ldapts";
import { buildApp } from "../../src/app.ts";
import { hashSecret } from "../../src/auth/secrets.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Db } from "../../src/storage/db.ts";
import { startTestLdap } from "../../test/support/ldap.ts";

const BASE = "dc=example,dc=org";
const PSK = "bench-identity-psk-0123456789";
const MEMBERS_PER_GROUP = 50;

/** What the LDAP part of `bench:identity` measured. */
export interface LdapBenchResult {
  users: number;
  groups: number;
  memberships: number;
  ldifMb: number;
  loadSeconds: number;
  fullSeconds: number;
  fullCounts: Record<string, number>;
  incrementalSeconds: number;
  incrementalCounts: Record<string, number>;
  rssBeforeMb: number;
  peakRssFullMb: number;
  rssAfterFullMb: number;
  peakRssIncrementalMb: number;
  loadAverage: { before: number[]; after: number[] };
  targets: { fullSeconds: number; incrementalSeconds: number };
  pass: boolean;
}

const pad = (n: number) => String(n).padStart(6, "0");
const userDn = (n: number) => `uid=bu${pad(n)},ou=people,${BASE}`;
const groupDn = (n: number) => `cn=bg${pad(n)},ou=groups,${BASE}`;

/**
 * Users in groups of 50 (each user in 5 groups); the last tenth of the groups nested in the first.
 * Entries carry modifyTimestamps one second apart in the past, as a directory filled over time
 * has (slapadd would stamp them all with the few seconds of the load, and an incremental run
 * re-reads every entry of the last second it saw).
 */
function ldif(users: number, groups: number): string {
  const epoch = Date.UTC(2020, 0, 1) / 1000;
  const stamp = (i: number) =>
    `modifyTimestamp: ${new Date((epoch + i) * 1000).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z\n`;
  const out: string[] = [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: cn=reader,${BASE}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: reader-secret\n`,
  ];
  for (let i = 1; i <= users; i++) {
    out.push(
      `dn: ${userDn(i)}\nobjectClass: inetOrgPerson\ncn: Bench ${i}\nsn: ${i}\nuid: bu${pad(i)}\nmail: bu${pad(i)}@example.org\ndisplayName: Bench User ${i}\n${stamp(i)}`,
    );
  }
  const nested = Math.floor(groups / 10);
  for (let g = 1; g <= groups; g++) {
    const members: string[] = [];
    for (let k = 0; k < MEMBERS_PER_GROUP; k++) members.push(userDn((((g - 1) * MEMBERS_PER_GROUP + k) % users) + 1));
    if (g <= nested) members.push(groupDn(groups - nested + g));
    out.push(
      `dn: ${groupDn(g)}\nobjectClass: groupOfNames\ncn: bg${pad(g)}\n${stamp(users + g)}${members.map((m) => `member: ${m}`).join("\n")}\n`,
    );
  }
  return out.join("\n");
}

function rssMb() {
  return Math.round(process.memoryUsage().rss / 1048576);
}

/** Samples RSS every 100 ms while `fn` runs; returns its result, seconds and the peak. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakMb: number }> {
  let peak = rssMb();
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb());
  }, 100);
  const started = performance.now();
  try {
    const value = await fn();
    return { value, seconds: (performance.now() - started) / 1000, peakMb: Math.max(peak, rssMb()) };
  } finally {
    clearInterval(timer);
  }
}

/** Runs the LDAP sync benchmark against `db` (migrated), logging each step with `log`. */
export async function runLdapBench(db: Db, scale: number, log: (line: string) => void): Promise<LdapBenchResult> {
  const users = Math.round(100_000 * scale);
  const groups = Math.round(10_000 * scale);
  const before = loadavg().map((n) => Math.round(n * 100) / 100);
  log(`load average before: ${before.join(" ")}`);
  const text = ldif(users, groups);
  const ldifMb = Math.round(Buffer.byteLength(text) / 1048576);
  log(`generated LDIF: ${users} users, ${groups} groups, ${groups * MEMBERS_PER_GROUP} memberships (${ldifMb} MB)`);
  const loadStarted = performance.now();
  const ldap = await startTestLdap({
    ldif: text,
    dbMaxSize: 4 * 1024 ** 3,
    indexes: ["objectClass eq", "modifyTimestamp eq"],
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  log(`slapadd + slapd start: ${loadSeconds.toFixed(1)} s`);
  try {
    const config = loadConfig({ env: { GATEHOUSE_PSK: PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
    const app = await buildApp({ config, db, generalPskHash: hashSecret(PSK) });
    await app.ready();
    const call = async (method: "GET" | "POST", url: string, payload?: unknown) => {
      const res = await app.inject({
        method,
        url,
        headers: { "authorization-psk": PSK },
        ...(payload ? { payload } : {}),
      });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 500)}`);
      return res.json();
    };
    const org = await call("POST", "/v1/orgs", { name: `bench-identity-${Date.now()}` });
    const source = await call("POST", "/v1/identity-sources", {
      orgId: org.id,
      name: "bench-ldap",
      kind: "ldap",
      config: { url: ldap.url, bindDn: ldap.bindDn, baseDn: BASE, pageSize: 500, timeoutMs: 120_000 },
      bindCredential: ldap.bindPassword,
    });
    global.gc?.();
    const rssBeforeMb = rssMb();
    const full = await measured(() => call("POST", `/v1/identity-sources/${source.id}/sync?wait=true&mode=full`));
    if (full.value.status !== "succeeded") throw new Error(`full run failed: ${full.value.error}`);
    log(`full sync: ${full.seconds.toFixed(1)} s, peak RSS ${full.peakMb} MB (before ${rssBeforeMb} MB)`);
    log(`  ${JSON.stringify(full.value.counts)}`);
    global.gc?.();
    const rssAfterFullMb = rssMb();

    // 100 changes: 50 users renamed (display name), 25 memberships moved (one group loses a
    // user, another gains it), i.e. 100 modified entries.
    const admin = new Client({ url: ldap.url });
    await admin.bind(ldap.adminDn, ldap.adminPassword);
    await new Promise((r) => setTimeout(r, 1100)); // modifyTimestamp has whole seconds
    for (let i = 1; i <= 50; i++) {
      await admin.modify(userDn(i * 7), [
        new Change({
          operation: "replace",
          modification: new Attribute({ type: "displayName", values: [`Renamed ${i}`] }),
        }),
      ]);
    }
    for (let i = 1; i <= 25; i++) {
      const from = i * 3;
      const to = i * 3 + 1;
      const user = userDn((from - 1) * MEMBERS_PER_GROUP + 1);
      await admin.modify(groupDn(from), [
        new Change({ operation: "delete", modification: new Attribute({ type: "member", values: [user] }) }),
      ]);
      await admin.modify(groupDn(to), [
        new Change({ operation: "add", modification: new Attribute({ type: "member", values: [user] }) }),
      ]);
    }
    await admin.unbind();
    const incremental = await measured(() =>
      call("POST", `/v1/identity-sources/${source.id}/sync?wait=true&mode=incremental`),
    );
    if (incremental.value.status !== "succeeded") throw new Error(`incremental run failed: ${incremental.value.error}`);
    log(
      `incremental sync (100 changed entries): ${incremental.seconds.toFixed(2)} s, peak RSS ${incremental.peakMb} MB`,
    );
    log(`  ${JSON.stringify(incremental.value.counts)}`);
    await app.close();
    const after = loadavg().map((n) => Math.round(n * 100) / 100);
    log(`load average after: ${after.join(" ")}`);
    const targets = { fullSeconds: 180 * Math.max(scale, 0.01), incrementalSeconds: 2 };
    return {
      users,
      groups,
      memberships: groups * MEMBERS_PER_GROUP,
      ldifMb,
      loadSeconds,
      fullSeconds: full.seconds,
      fullCounts: full.value.counts,
      incrementalSeconds: incremental.seconds,
      incrementalCounts: incremental.value.counts,
      rssBeforeMb,
      peakRssFullMb: full.peakMb,
      rssAfterFullMb,
      peakRssIncrementalMb: incremental.peakMb,
      loadAverage: { before, after },
      targets,
      pass: full.seconds <= targets.fullSeconds && incremental.seconds <= targets.incrementalSeconds,
    };
  } finally {
    await ldap.stop();
  }
}
