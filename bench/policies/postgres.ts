import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Server settings of the throwaway PostgreSQL (as scripts/test.sh: durability off, it is thrown away). */
export const PG_SETTINGS = ["fsync=off", "synchronous_commit=off", "shared_buffers=512MB", "max_wal_size=4GB"];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts a PostgreSQL in a temp folder the way scripts/test.sh does (initdb as `postgres` when
 * root, pg_ctl on a free port) and returns its URL and a `stop()` that removes it.
 */
export async function startPostgres(): Promise<{ url: string; stop(): void }> {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b));
  const bin = `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-policies-"));
  const asPg = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asPg.length > 0) {
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "postgres"]).toString()),
      Number(execFileSync("id", ["-g", "postgres"]).toString()),
    );
  }
  const run = (cmd: string, args: string[]) => {
    const all = [...asPg, cmd, ...args];
    const result = spawnSync(all[0] as string, all.slice(1), { stdio: "pipe" });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr.toString()}`);
  };
  const port = await freePort();
  run(`${bin}/initdb`, ["-D", `${dir}/data`, "-U", "gatehouse", "--auth=trust", "-E", "UTF8"]);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    ...PG_SETTINGS.map((s) => `-c ${s}`),
  ].join(" ");
  run(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-l", `${dir}/pg.log`, "-w", "-o", options, "start"]);
  execFileSync(`${bin}/createdb`, ["-h", "127.0.0.1", "-p", String(port), "-U", "gatehouse", "gatehouse_bench"]);
  return {
    url: `postgres://gatehouse@127.0.0.1:${port}/gatehouse_bench`,
    stop() {
      run(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-m", "immediate", "stop"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
