/**
 * `npm run test:crash`: the crash scenario of issue #13 with many kills, on the embedded database
 * and on PostgreSQL (GATEHOUSE_TEST_DATABASE_URL, or a throwaway PostgreSQL 15+ started here as
 * scripts/test.sh starts one). Prints acknowledged / present counts per database and exits 1 when
 * an acknowledged write is missing or a live server answered anything but 201.
 *
 *   npm run test:crash [-- --kills 10] [--seed 42]
 */
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../support/daemon.ts";
import { type CrashReport, type CrashTarget, runCrashScenario } from "./crash.ts";

const { values } = parseArgs({ options: { kills: { type: "string", default: "10" }, seed: { type: "string" } } });
const kills = Number(values.kills);
const seed = values.seed === undefined ? undefined : Number(values.seed);

/** Starts a throwaway PostgreSQL (initdb + pg_ctl, as user postgres when run as root). */
async function throwawayPostgres(): Promise<{ url: string; stop: () => void }> {
  const base = "/usr/lib/postgresql";
  const version = readdirSync(base)
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  if (!version) throw new Error("no PostgreSQL server under /usr/lib/postgresql: set GATEHOUSE_TEST_DATABASE_URL");
  const bin = join(base, version, "bin");
  const dir = mkdtempSync(join(tmpdir(), "gh-crash-pg-"));
  const asPg = (cmd: string, args: string[]) =>
    process.getuid?.() === 0
      ? execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" })
      : execFileSync(cmd, args, { stdio: "pipe" });
  if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString().trim()), 0);
  const port = await freePort();
  asPg(join(bin, "initdb"), ["-D", join(dir, "data"), "-U", "gatehouse", "--auth=trust", "-E", "UTF8"]);
  asPg(join(bin, "pg_ctl"), [
    "-D",
    join(dir, "data"),
    "-l",
    join(dir, "pg.log"),
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    "start",
  ]);
  execFileSync(join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "gatehouse", "crash"]);
  return {
    url: `postgres://gatehouse@127.0.0.1:${port}/crash`,
    stop: () => {
      try {
        asPg(join(bin, "pg_ctl"), ["-D", join(dir, "data"), "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function run(name: string, target: CrashTarget): Promise<CrashReport> {
  process.stdout.write(`== ${name}: ${kills} kills ==\n`);
  const report = await runCrashScenario({
    target,
    kills,
    ...(seed !== undefined ? { seed } : {}),
    log: (line) => process.stdout.write(`  ${line}\n`),
  });
  process.stdout.write(
    `  ${name}: acknowledged ${report.acknowledged}, present ${report.present}, missing ${report.missing.length}` +
      ` (unanswered ${report.unanswered}, of which committed ${report.unansweredPresent}; unexpected answers ${report.unexpected.length}; seed ${report.seed})\n`,
  );
  for (const name of report.missing.slice(0, 20)) process.stdout.write(`    missing: ${name}\n`);
  for (const answer of report.unexpected.slice(0, 20)) process.stdout.write(`    unexpected: ${answer}\n`);
  return report;
}

const reports: CrashReport[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "gh-crash-"));
try {
  reports.push(await run("embedded (PGlite)", { dataDir }));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
const given = process.env.GATEHOUSE_TEST_DATABASE_URL;
const pg = given ? null : await throwawayPostgres();
try {
  reports.push(await run("PostgreSQL", { databaseUrl: given ?? (pg as { url: string }).url }));
} finally {
  pg?.stop();
}
const failed = reports.some((r) => r.missing.length > 0 || r.unexpected.length > 0 || r.acknowledged === 0);
process.stdout.write(failed ? "crash test FAILED\n" : "crash test passed: every acknowledged write is present\n");
process.exitCode = failed ? 1 : 0;
