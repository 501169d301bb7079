import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Default settings of a throwaway benchmark server (durability off: it is thrown away). Benchmarks
 * print the settings they used with their results, so the figures can be reproduced.
 */
export const PG_SETTINGS = [
  "fsync=off",
  "shared_buffers=1GB",
  "max_wal_size=8GB",
  "maintenance_work_mem=512MB",
  "max_connections=200",
];

/** A PostgreSQL the benchmark started itself; `stop()` removes it. */
export interface ThrowawayPostgres {
  url: string;
  stop(): void;
}

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
 * Starts PostgreSQL like scripts/test.sh: initdb in a temp folder (as `postgres` when root), pg_ctl
 * on a free port, one database `gatehouse_bench`. Every benchmark that needs PostgreSQL uses this.
 */
export async function startPostgres(settings: readonly string[] = PG_SETTINGS): Promise<ThrowawayPostgres> {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b));
  const bin = `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-pg-"));
  const asPg = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asPg.length > 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const all = [...asPg, cmd, ...args];
    const result = spawnSync(all[0] as string, all.slice(1), { stdio: "pipe" });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr.toString()}`);
  };
  const port = await freePort();
  run(`${bin}/initdb`, ["-D", `${dir}/data`, "-U", "gatehouse", "--auth=trust", "-E", "UTF8"]);
  const options = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", ...settings.map((s) => `-c ${s}`)].join(
    " ",
  );
  run(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-l", `${dir}/pg.log`, "-w", "-o", options, "start"]);
  execFileSync(`${bin}/createdb`, ["-h", "127.0.0.1", "-p", String(port), "-U", "gatehouse", "gatehouse_bench"]);
  return {
    url: `postgres://gatehouse@127.0.0.1:${port}/gatehouse_bench`,
    stop() {
      spawnSync(
        asPg[0] ?? `${bin}/pg_ctl`,
        [...asPg.slice(1), ...(asPg.length ? [`${bin}/pg_ctl`] : []), "-D", `${dir}/data`, "-m", "immediate", "stop"],
        { stdio: "ignore" },
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
