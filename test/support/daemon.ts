import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, Socket } from "node:net";

/** A free TCP port on 127.0.0.1 for a test server. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Resolves once `child` (called `name` in errors) accepts TCP connections on `port` of 127.0.0.1. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms`);
}

/** A test server process running from its own temp folder. */
export interface TestDaemon {
  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts `command` (a throwaway test server such as slapd or krb5kdc, living in `dir`) and waits
 * until it listens on `port`. On failure it kills the process, removes `dir` and throws with the
 * end of the process's stderr, so a broken fixture says why.
 */
export async function startDaemon(opts: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  port: number;
  dir: string;
}): Promise<TestDaemon> {
  const child = spawn(opts.command, opts.args, { env: opts.env ?? process.env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  try {
    await waitForPort(opts.port, child, 15_000, opts.name);
  } catch (err) {
    child.kill("SIGKILL");
    rmSync(opts.dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}: ${stderr.slice(-2000)}`);
  }
  return {
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(opts.dir, { recursive: true, force: true });
    },
  };
}
