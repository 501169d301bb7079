import { type ServerProcess, startServerProcess } from "../support/server-process.ts";

/** Seconds on an idle machine, minutes on a loaded one (a start imports and migrates). */
const START_TIMEOUT_MS = 450_000;

/**
 * The Gatehouse server processes of a connector fault scenario, all on one database: two on
 * PostgreSQL (they compete for each connector's worker; one leads by advisory lock), one on the
 * embedded database (it cannot be shared between processes). A killed process is replaced by a new
 * one on the same database, so the cluster keeps its size. Leadership is read from each process's
 * log as it is written ("connector: leading delivery" with the connector's id), not from the kept
 * tail of its output, which a busy server overwrites.
 */
export class GatehouseCluster {
  readonly procs: ServerProcess[] = [];
  readonly #env: Record<string, string>;
  readonly #size: number;
  readonly #leads = new Map<ServerProcess, Set<string>>();

  constructor(env: Record<string, string>, size: number) {
    this.#env = env;
    this.#size = size;
  }

  /** Starts processes until the cluster has its size. */
  async fill(): Promise<void> {
    const missing = this.#size - this.live().length;
    await Promise.all(Array.from({ length: missing }, () => this.#startOne()));
  }

  /** The processes still running. */
  live(): ServerProcess[] {
    return this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /** The running process that logged that it leads the connector's delivery, if any. */
  leaderOf(connectorId: string): ServerProcess | undefined {
    return this.live().find((p) => this.#leads.get(p)?.has(connectorId));
  }

  /** How many running processes logged that they lead the connector (exactly one, or none for a moment). */
  leaderCount(connectorId: string): number {
    return this.live().filter((p) => this.#leads.get(p)?.has(connectorId)).length;
  }

  /** Kills a process with SIGKILL (no shutdown of any kind) and waits until it is gone. */
  async kill(proc: ServerProcess): Promise<void> {
    proc.child.kill("SIGKILL");
    await proc.exited;
  }

  /** Kills every process. */
  async close(): Promise<void> {
    await Promise.all(this.live().map((p) => this.kill(p)));
  }

  async #startOne(): Promise<ServerProcess> {
    const proc = await startServerProcess(this.#env, START_TIMEOUT_MS);
    const led = new Set<string>();
    this.#leads.set(proc, led);
    let partial = "";
    const scan = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes('"msg":"connector: leading delivery"')) continue;
        const id = /"connectorId":"([^"]+)"/.exec(line)?.[1];
        if (id) led.add(id);
      }
    };
    // the start-up output was read by startServerProcess; leadership comes later (a connector is created after)
    for (const line of proc.output().split("\n")) scan(Buffer.from(`${line}\n`));
    proc.child.stdout?.on("data", scan);
    proc.child.stderr?.on("data", scan);
    this.procs.push(proc);
    return proc;
  }
}
