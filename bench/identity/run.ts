// `npm run bench:identity`: the identity benchmarks of issue #16, in one run: the scheduled LDAP
// sync (bench/identity/ldap.ts) and the SCIM server (bench/identity/scim.ts).
//
// Usage: npm run bench:identity [-- --json] [-- --scale 0.1] [-- --pglite] [-- --only ldap|scim]
//   GATEHOUSE_BENCH_DATABASE_URL selects an existing PostgreSQL database; otherwise a throwaway
//   PostgreSQL is started (and removed), or an in-memory PGlite with --pglite (LDAP part only).
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { startPostgres, type ThrowawayPostgres } from "../support/postgres.ts";
import { runLdapBench } from "./ldap.ts";
import { benchScim } from "./scim.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const pglite = args.includes("--pglite");
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

let pg: ThrowawayPostgres | undefined;
try {
  let url = pglite ? undefined : process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!pglite && !url) {
    log("starting a throwaway PostgreSQL");
    pg = await startPostgres();
    url = pg.url;
  }
  const results: Record<string, unknown> = {};
  let pass = true;
  if (only !== "scim") {
    const db = await openDb({ databaseUrl: url, poolSize: 10 });
    await migrate(db);
    log(`backend: ${url ? "postgres" : "pglite"}, scale ${scale}`);
    const ldap = await runLdapBench(db, scale, log);
    await db.close();
    results.ldap = ldap;
    pass &&= ldap.pass;
    log(
      `ldap: full ${ldap.fullSeconds.toFixed(1)} s (target ${ldap.targets.fullSeconds} s), incremental ${ldap.incrementalSeconds.toFixed(2)} s (target ${ldap.targets.incrementalSeconds} s): ${ldap.pass ? "PASS" : "FAIL"}`,
    );
  }
  if (only !== "ldap" && url) {
    if (pg && only !== "scim") {
      // A throwaway server fresh from the LDAP import would still be vacuuming and checkpointing
      // 100,000 users and 500,000 memberships while SCIM is timed: SCIM gets a throwaway of its own.
      pg.stop();
      pg = undefined;
    } else process.env.GATEHOUSE_BENCH_DATABASE_URL = url;
    const scim = await benchScim({
      users: Math.round(100_000 * scale),
      creates: Math.max(200, Math.round(4000 * scale)),
      lookups: Math.max(200, Math.round(3000 * scale)),
      log,
    });
    results.scim = scim;
    pass &&= scim.pass;
  }
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await pg?.stop();
}
