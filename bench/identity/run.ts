// `npm run bench:identity`: the identity benchmarks of issue 16. This runs the LDAP sync part
// (bench/identity/ldap.ts); the SCIM part joins here when merged.
//
// Usage: npm run bench:identity [-- --json] [-- --scale 0.1] [-- --pglite]
//   GATEHOUSE_BENCH_DATABASE_URL selects an existing PostgreSQL database; otherwise a throwaway
//   PostgreSQL is started (and removed), or an in-memory PGlite with --pglite.
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { startPostgres, type ThrowawayPostgres } from "../support/postgres.ts";
import { runLdapBench } from "./ldap.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const pglite = args.includes("--pglite");
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

let pg: ThrowawayPostgres | undefined;
try {
  let url = pglite ? undefined : process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!pglite && !url) {
    log("starting a throwaway PostgreSQL");
    pg = await startPostgres();
    url = pg.url;
  }
  const db = await openDb({ databaseUrl: url, poolSize: 10 });
  await migrate(db);
  log(`backend: ${url ? "postgres" : "pglite"}, scale ${scale}`);
  const ldap = await runLdapBench(db, scale, log);
  await db.close();
  if (json) process.stdout.write(`${JSON.stringify({ ldap }, null, 2)}\n`);
  log(
    `ldap: full ${ldap.fullSeconds.toFixed(1)} s (target ${ldap.targets.fullSeconds} s), incremental ${ldap.incrementalSeconds.toFixed(2)} s (target ${ldap.targets.incrementalSeconds} s): ${ldap.pass ? "PASS" : "FAIL"}`,
  );
  process.exitCode = ldap.pass ? 0 : 1;
} finally {
  await pg?.stop();
}
