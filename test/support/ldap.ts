import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startDaemon } from "./daemon.ts";

/**
 * A throwaway OpenLDAP server for tests: its own cn=config and mdb database in a temp folder,
 * loaded offline with slapadd, listening on a free port of 127.0.0.1, stopped by `stop()`.
 * Searches by the `reader` account are capped at 500 entries unless paged (like AD's
 * MaxPageSize), so a client that forgets the paged results control fails the tests.
 */
export interface TestLdap {
  url: string;
  baseDn: string;
  /** A non-root account subject to the size limit. */
  bindDn: string;
  bindPassword: string;
  /** The root account (not size-limited), for tests that change the directory. */
  adminDn: string;
  adminPassword: string;
  stop(): Promise<void>;
}

const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";
const BASE = "dc=example,dc=org";

/** Number of users in `cn=big` and of users overall. */
export const BIG_GROUP_SIZE = 2000;
/** Small groups beyond the per-search size limit of 500. */
export const TEAM_GROUPS = 520;
/** DN with a space. */
export const DATA_TEAM_DN = `cn=Data Team,ou=groups,${BASE}`;
/** DN with an escaped comma. */
export const SALES_EMEA_DN = `cn=Sales\\, EMEA,ou=groups,${BASE}`;
/** Nested: engineering has Data Team (user0001, user0002) and user0003. */
export const ENGINEERING_DN = `cn=engineering,ou=groups,${BASE}`;
export const BIG_DN = `cn=big,ou=groups,${BASE}`;
/** A user whose DN holds an escaped comma. */
export const SMITH_DN = `cn=Smith\\, John,ou=people,${BASE}`;

const pad = (n: number) => String(n).padStart(4, "0");
const userDn = (n: number) => `uid=user${pad(n)},ou=people,${BASE}`;

function configLdif(dir: string, maxSize = 268435456, indexes: string[] = []): string {
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: size.soft=500 size.hard=500 size.pr=500 size.prtotal=unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${BASE}
olcDbDirectory: ${dir}/data
olcDbMaxSize: ${maxSize}
${indexes.map((i) => `olcDbIndex: ${i}\n`).join("")}olcRootDN: cn=admin,${BASE}
olcRootPW: admin-secret
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by * read
olcLimits: {0}dn.exact="cn=reader,${BASE}" size.soft=500 size.hard=500 size.pr=500 size.prtotal=unlimited
`;
}

function dataLdif(): string {
  const out: string[] = [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: cn=reader,${BASE}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: reader-secret\n`,
    `dn: ${SMITH_DN}\nobjectClass: inetOrgPerson\ncn: Smith, John\nsn: Smith\nuid: jsmith\nmail: john.smith@example.org\n`,
  ];
  for (let i = 1; i <= BIG_GROUP_SIZE; i++) {
    out.push(
      `dn: ${userDn(i)}\nobjectClass: inetOrgPerson\ncn: User ${pad(i)}\nsn: ${pad(i)}\nuid: user${pad(i)}\nmail: user${pad(i)}@example.org\n`,
    );
  }
  const group = (dn: string, cn: string, members: string[]) =>
    `dn: ${dn}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${m}`).join("\n")}\n`;
  out.push(
    group(
      BIG_DN,
      "big",
      Array.from({ length: BIG_GROUP_SIZE }, (_, i) => userDn(i + 1)),
    ),
  );
  out.push(group(DATA_TEAM_DN, "Data Team", [userDn(1), userDn(2)]));
  out.push(group(ENGINEERING_DN, "engineering", [DATA_TEAM_DN, userDn(3)]));
  out.push(group(SALES_EMEA_DN, "Sales, EMEA", [SMITH_DN]));
  out.push(group(`cn=loop-a,ou=groups,${BASE}`, "loop-a", [`cn=loop-b,ou=groups,${BASE}`, userDn(4)]));
  out.push(group(`cn=loop-b,ou=groups,${BASE}`, "loop-b", [`cn=loop-a,ou=groups,${BASE}`, userDn(5)]));
  for (let i = 1; i <= TEAM_GROUPS; i++)
    out.push(group(`cn=team-${pad(i)},ou=groups,${BASE}`, `team-${pad(i)}`, [userDn(i)]));
  return out.join("\n");
}

/**
 * Starts a fresh slapd with the fixture entries, or with `options.ldif` (the entries below the
 * base, which it must create itself; `ou=people` and `ou=groups` are not added then), a larger
 * database (`dbMaxSize` bytes) and `olcDbIndex` lines (benchmarks). Requires the
 * Debian `slapd` package (scripts/test.sh installs it).
 */
export async function startTestLdap(
  options: { ldif?: string; dbMaxSize?: number; indexes?: string[] } = {},
): Promise<TestLdap> {
  if (!existsSync(SLAPD))
    throw new Error("slapd is not installed: run `apt-get install -y slapd ldap-utils` (npm test does)");
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-ldap-"));
  mkdirSync(join(dir, "slapd.d"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "config.ldif"), configLdif(dir, options.dbMaxSize, options.indexes));
  writeFileSync(join(dir, "data.ldif"), options.ldif ?? dataLdif());
  execFileSync(SLAPADD, ["-n", "0", "-F", join(dir, "slapd.d"), "-l", join(dir, "config.ldif")], { stdio: "pipe" });
  execFileSync(SLAPADD, ["-q", "-n", "1", "-F", join(dir, "slapd.d"), "-l", join(dir, "data.ldif")], { stdio: "pipe" });
  const port = await freePort();
  const daemon = await startDaemon({
    name: "slapd",
    command: SLAPD,
    args: ["-d", "0", "-F", join(dir, "slapd.d"), "-h", `ldap://127.0.0.1:${port}/`],
    port,
    dir,
  });
  return {
    url: `ldap://127.0.0.1:${port}`,
    baseDn: BASE,
    bindDn: `cn=reader,${BASE}`,
    bindPassword: "reader-secret",
    adminDn: `cn=admin,${BASE}`,
    adminPassword: "admin-secret",
    stop: daemon.stop,
  };
}
