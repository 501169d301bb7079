import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** A `gatehouse serve` process a benchmark started; `stop()` ends it and removes its data dir. */
export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `gatehouse serve` from the checkout at `root` on a free port: on `databaseUrl` when given,
 * else on a fresh embedded database in a temp folder. Resolves once it logs that it listens.
 */
export async function startServer(
  root: string,
  psk: string,
  opts: { databaseUrl?: string; nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
  const env: Record<string, string | undefined> = {
    ...process.env,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_PSK: psk,
    GATEHOUSE_LOG_LEVEL: "info",
    ...opts.env,
  };
  if (opts.databaseUrl) env.GATEHOUSE_DATABASE_URL = opts.databaseUrl;
  else delete env.GATEHOUSE_DATABASE_URL;
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), join(root, "src/main.ts"), "serve", "--port", "0", "--host", "127.0.0.1"],
    { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  for await (const line of lines) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === "gatehouse listening" && entry.url) {
      // keep draining the log so the child never blocks on a full pipe; GATEHOUSE_BENCH_SERVER_LOG keeps it
      const keep = process.env.GATEHOUSE_BENCH_SERVER_LOG;
      lines.on("line", keep ? (l) => appendFileSync(keep, `${l}\n`) : () => {});
      return { url: entry.url, child, stop };
    }
  }
  await stop();
  throw new Error("server exited before listening");
}
