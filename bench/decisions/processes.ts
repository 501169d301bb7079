import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { startPostgres as startThrowawayPostgres } from "../support/postgres.ts";

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts the bare Fastify server; resolves with its URL. `wrapper` runs it under a tool (valgrind). */
export async function startBare(wrapper: readonly string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const command = [...wrapper, process.execPath, "bench/decisions/bare-server.ts"];
  const child = spawn(command[0] as string, command.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  for await (const line of createInterface({ input: child.stdout as NonNullable<typeof child.stdout> })) {
    if (line.startsWith("http")) return { url: line.trim(), child };
  }
  throw new Error("bare server did not start");
}

/**
 * Starts `gatehouse serve` on PostgreSQL and waits for /readyz. `wrapper` runs it under a tool
 * (valgrind), which also needs a longer `readyWithinMs`; `tree` runs another checkout's server
 * (an A/B comparison, cost.ts `--trees`).
 */
export async function startGatehouse(
  databaseUrl: string,
  psk: string,
  wrapper: readonly string[] = [],
  readyWithinMs = 60_000,
  tree?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  // GATEHOUSE_BENCH_NODE_ARGS: extra node flags for the servers, e.g. `--cpu-prof` to profile them.
  const nodeArgs = (process.env.GATEHOUSE_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const command = [
    ...wrapper,
    process.execPath,
    ...nodeArgs,
    "src/main.ts",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ];
  const child = spawn(command[0] as string, command.slice(1), {
    env: { ...process.env, GATEHOUSE_DATABASE_URL: databaseUrl, GATEHOUSE_PSK: psk, GATEHOUSE_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
    ...(tree === undefined ? {} : { cwd: tree }),
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyWithinMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("gatehouse did not become ready");
}

/** A throwaway PostgreSQL for this benchmark (see bench/support/postgres.ts). */
export function startPostgres(): Promise<{ url: string; stop: () => void }> {
  return startThrowawayPostgres(["fsync=off", "synchronous_commit=off", "max_connections=200"]);
}
