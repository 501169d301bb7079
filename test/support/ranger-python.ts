import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Apache Ranger's own Python client, unchanged, beside the repository (never copied into it). */
const CLIENT_ROOT = join(import.meta.dirname, "../../../shared/clients/apache-ranger-python");
const WHEELS = join(import.meta.dirname, "../../../shared/clients/wheels");

/** The drivers that call the client and report each method's result. */
export const DRIVERS = join(import.meta.dirname, "../ranger-clients");

/** One client call as a driver reports it: the method, whether its assertions held, and why not. */
export interface ClientCallResult {
  method: string;
  ok: boolean;
  error?: string;
}

/**
 * The first Python 3 that can import `requests` (the client's one third-party import besides the
 * `StrEnum` wheel): `python3` on PATH, then Debian's. `npm test` installs python3-requests when
 * neither can, so a missing interpreter is a broken machine and throws with the reason.
 */
export function pythonWithRequests(): string {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    try {
      execFileSync(candidate, ["-c", "import requests"], { stdio: "ignore" });
      return candidate;
    } catch {
      // try the next interpreter
    }
  }
  throw new Error("no python3 with the requests module (Debian: apt-get install python3-requests)");
}

/**
 * Runs driver `script` (a file in test/ranger-clients) with Ranger's client on its path against a
 * Gatehouse listening at `url`, authenticating with Basic `user:password` as the client's `auth`
 * tuple does. The driver prints one JSON line per call (`{"method", "ok", "error"}`); anything else
 * it prints, and its stderr, comes back in `log` so a failing test shows what the client saw.
 */
export async function runRangerDriver(
  script: string,
  url: string,
  auth: { user: string; password: string },
  extraEnv: Record<string, string> = {},
): Promise<{ results: ClientCallResult[]; exitCode: number | null; log: string }> {
  const wheels = readdirSync(WHEELS)
    .filter((f) => f.endsWith(".whl"))
    .map((f) => join(WHEELS, f));
  const child = spawn(pythonWithRequests(), [join(DRIVERS, script)], {
    env: {
      ...process.env,
      ...extraEnv,
      PYTHONPATH: [CLIENT_ROOT, DRIVERS, ...wheels].join(":"),
      GATEHOUSE_URL: url,
      GATEHOUSE_USER: auth.user,
      GATEHOUSE_PASSWORD: auth.password,
      PYTHONUNBUFFERED: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += String(c);
  });
  child.stderr.on("data", (c) => {
    stderr += String(c);
  });
  const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const results: ClientCallResult[] = [];
  const other: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith('{"method"')) results.push(JSON.parse(line) as ClientCallResult);
    else if (line.trim()) other.push(line);
  }
  return { results, exitCode, log: [...other, stderr].join("\n").slice(-8000) };
}
