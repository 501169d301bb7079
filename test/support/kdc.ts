import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startDaemon } from "./daemon.ts";

/**
 * A throwaway MIT Kerberos KDC for tests: its own realm database, krb5.conf and keytabs in a
 * temp folder, listening on a free port of 127.0.0.1, stopped by `stop()`. Requires Debian's
 * `krb5-kdc` and `krb5-admin-server` (scripts/test.sh installs them).
 */
export interface TestKdc {
  realm: string;
  /** The krb5.conf clients and servers of the test use (`KRB5_CONFIG`). */
  krb5Conf: string;
  /** Creates `principal` (e.g. `HTTP/localhost`) with a random key and exports it to a new keytab. */
  keytab(principal: string): string;
  /** Gets a ticket for `principal` from its keytab into a new credential cache; returns `FILE:<path>`. */
  kinit(principal: string, keytab: string): string;
  stop(): Promise<void>;
}

const KRB5KDC = "/usr/sbin/krb5kdc";
const KDB5_UTIL = "/usr/sbin/kdb5_util";
const KADMIN_LOCAL = "/usr/sbin/kadmin.local";
const KINIT = "/usr/bin/kinit";

/** Starts a fresh KDC for `realm`. */
export async function startTestKdc(realm = "GATEHOUSE.TEST"): Promise<TestKdc> {
  for (const tool of [KRB5KDC, KDB5_UTIL, KADMIN_LOCAL, KINIT]) {
    if (!existsSync(tool))
      throw new Error(`${tool} is not installed: run \`apt-get install -y krb5-kdc krb5-admin-server krb5-user\``);
  }
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-kdc-"));
  const port = await freePort();
  const krb5Conf = join(dir, "krb5.conf");
  writeFileSync(
    krb5Conf,
    `[libdefaults]
  default_realm = ${realm}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
[realms]
  ${realm} = {
    kdc = 127.0.0.1:${port}
  }
`,
  );
  const kdcConf = join(dir, "kdc.conf");
  writeFileSync(
    kdcConf,
    `[kdcdefaults]
  kdc_ports = ${port}
  kdc_tcp_ports = ${port}
[realms]
  ${realm} = {
    database_name = ${dir}/principal
    key_stash_file = ${dir}/stash
    acl_file = ${dir}/kadm5.acl
    supported_enctypes = aes256-cts-hmac-sha1-96:normal
  }
[logging]
  kdc = FILE:${dir}/kdc.log
`,
  );
  const env = { ...process.env, KRB5_CONFIG: krb5Conf, KRB5_KDC_PROFILE: kdcConf };
  const run = (tool: string, args: string[]) => execFileSync(tool, args, { env, stdio: "pipe" });
  run(KDB5_UTIL, ["create", "-s", "-r", realm, "-P", "test-master-password"]);
  const daemon = await startDaemon({
    name: "krb5kdc",
    command: KRB5KDC,
    args: ["-n", "-P", join(dir, "kdc.pid")],
    env,
    port,
    dir,
  });
  let files = 0;
  return {
    realm,
    krb5Conf,
    keytab(principal) {
      const path = join(dir, `${++files}.keytab`);
      run(KADMIN_LOCAL, ["-q", `addprinc -randkey ${principal}`]);
      run(KADMIN_LOCAL, ["-q", `ktadd -k ${path} ${principal}`]);
      return path;
    },
    kinit(principal, keytab) {
      const cache = `FILE:${join(dir, `${++files}.ccache`)}`;
      execFileSync(KINIT, ["-k", "-t", keytab, principal], { env: { ...env, KRB5CCNAME: cache }, stdio: "pipe" });
      return cache;
    },
    stop: daemon.stop,
  };
}
