import { type ChildProcess, spawn } from "node:child_process";

/** The CLI's entry point, for tests that run `gatehouse` as a process. */
export const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

const OUTPUT_KEPT = 256 * 1024;

/** A `gatehouse serve` child process. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once it has exited. */
  exited: Promise<number | string>;
}

/**
 * Starts `gatehouse serve` as a real process (port 0 unless `env` says otherwise) and resolves once
 * it logs that it listens; rejects with its output when it exits first or is not up within
 * `timeoutMs` (generous: a loaded machine takes long to open and migrate a database).
 */
export function startServerProcess(env: Record<string, string>, timeoutMs = 150_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: { ...process.env, GATEHOUSE_PORT: "0", GATEHOUSE_LOG_LEVEL: "info", ...env },
  });
  let output = "";
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start:\n${output}`));
    }, timeoutMs);
    let listening = false;
    const onData = (chunk: Buffer) => {
      // the tail is kept (a busy server logs every request); startup lines are read before that
      output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
      if (listening) return;
      const match = /"url":"(http:[^"]+)".*"msg":"gatehouse listening"/.exec(output);
      if (match?.[1]) {
        listening = true;
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output, exited });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`server exited with ${code}:\n${output}`), { code, output }));
    });
  });
}
