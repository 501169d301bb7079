import { Command } from "commander";
import { asCliError, CliError, oneLine } from "./cli-error.ts";

/** Connection flags shared by the commands that talk to a running server. */
export interface ServerClientFlags {
  server: string;
  psk?: string;
  apiKey?: string;
  timeout: string;
}

/** Adds `--server`, `--psk` and `--api-key` (environment: GATEHOUSE_SERVER, GATEHOUSE_PSK, GATEHOUSE_API_KEY). */
export function withClientFlags(command: Command): Command {
  return command
    .option(
      "--server <url>",
      "Gatehouse server URL (GATEHOUSE_SERVER)",
      process.env.GATEHOUSE_SERVER ?? "http://127.0.0.1:8080",
    )
    .option("--psk <key>", "general pre-shared key (GATEHOUSE_PSK)")
    .option("--api-key <key>", "API key (GATEHOUSE_API_KEY)")
    .option("--timeout <seconds>", "seconds to wait for the server's answer", "30");
}

/**
 * Runs a client command's body and turns any failure (unreachable server, refused credentials,
 * bad input, an answer that is not what was asked) into a one-line CliError: exit code 2.
 */
export async function asClientCommand(flags: ServerClientFlags, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    throw asCliError(err, flags.server);
  }
}

/** Credential headers from the flags or the environment; both the PSK and API keys go in Authorization-PSK. */
export function authHeaders(flags: ServerClientFlags): Record<string, string> {
  const key = flags.apiKey ?? process.env.GATEHOUSE_API_KEY ?? flags.psk ?? process.env.GATEHOUSE_PSK;
  if (!key) throw new CliError("no credentials: pass --psk or --api-key (or set GATEHOUSE_PSK / GATEHOUSE_API_KEY)");
  return { "authorization-psk": key };
}

/** Parses `catalog=sales,schema=eu,table=orders`. */
export function parseResource(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0 || part.slice(0, eq).trim() === "")
      throw new CliError(`--resource: \`${part}\` is not name=value (e.g. catalog=sales,schema=eu)`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Seconds from `--timeout`, or a usage error. */
function timeoutMs(flags: ServerClientFlags): number {
  const seconds = Number(flags.timeout);
  if (!(seconds > 0 && seconds <= 3600))
    throw new CliError(`--timeout: \`${flags.timeout}\` is not a number of seconds (1 to 3600)`);
  return seconds * 1000;
}

/** Calls the server and returns its JSON answer; a non-2xx or non-JSON answer is a CliError. */
export async function callServer(
  flags: ServerClientFlags,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<unknown> {
  const headers = { ...authHeaders(flags), ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await fetch(`${flags.server.replace(/\/+$/, "")}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs(flags)),
  });
  const text = await res.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (!res.ok) {
    // our shape {code, message}; a proxy's page or another shape is printed as its first line
    const err = (answer ?? {}) as { code?: unknown; message?: unknown };
    const what = oneLine(typeof err.code === "string" ? `${err.code}: ${String(err.message)}` : text).slice(0, 500);
    throw new CliError(`${res.status} ${what}`);
  }
  if (answer === undefined) throw new CliError(`${res.status} answer from ${flags.server} is not JSON`);
  return answer;
}

interface CheckFlags extends ServerClientFlags {
  service: string;
  user: string;
  resource: string;
  access: string;
  groups?: string;
  roles?: string;
  explain?: boolean;
  json?: boolean;
}

/**
 * `gatehouse check`: asks a running server for one decision (`POST /v1/decisions`, or
 * `:explain` with `--explain`) and prints ALLOWED or DENIED with the deciding policy. Exit code
 * 0 when allowed, 1 when denied, 2 on any error (usage, unreachable server, refused credentials,
 * an answer that is not a decision), so scripts can branch on it. `--access` is required: an
 * empty access type means "any access" to Ranger, which a forgotten flag must never ask for.
 */
export function checkCommand(): Command {
  return withClientFlags(new Command("check"))
    .description("ask a Gatehouse server whether a user may access a resource")
    .requiredOption("--service <name>", "service name, e.g. trino")
    .requiredOption("--user <name>", "user name")
    .requiredOption("--resource <pairs>", "resource as name=value pairs, e.g. catalog=sales,schema=eu,table=orders")
    .requiredOption("--access <type>", "access type, e.g. select; `_any` asks whether any access is allowed")
    .option("--groups <list>", "comma-separated groups (default: the user's groups in the directory)")
    .option("--roles <list>", "comma-separated roles (default: the user's roles in the directory)")
    .option("--explain", "print the explanation too")
    .option("--json", "print the server's JSON answer")
    .action((flags: CheckFlags) =>
      asClientCommand(flags, async () => {
        const body: Record<string, unknown> = {
          service: flags.service,
          user: flags.user,
          resource: parseResource(flags.resource),
          accessType: flags.access,
        };
        if (flags.groups !== undefined) body.groups = flags.groups.split(",").filter(Boolean);
        if (flags.roles !== undefined) body.roles = flags.roles.split(",").filter(Boolean);
        const answer = (await callServer(
          flags,
          "POST",
          flags.explain ? "/v1/decisions:explain" : "/v1/decisions",
          body,
        )) as Record<string, unknown>;
        const decision = (flags.explain ? answer.decision : answer) as
          | { allowed?: unknown; policyId?: unknown; reason?: unknown }
          | undefined;
        // only a decision that says allowed, literally, is an ALLOWED
        if (typeof decision?.allowed !== "boolean") throw new CliError("the server's answer is not a decision");
        if (flags.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        else {
          const by =
            typeof decision.policyId === "number" && decision.policyId >= 0 ? ` (policy ${decision.policyId})` : "";
          process.stdout.write(`${decision.allowed ? "ALLOWED" : "DENIED"}${by}: ${String(decision.reason ?? "")}\n`);
          if (flags.explain) process.stdout.write(`${JSON.stringify(answer.explanation, null, 2)}\n`);
        }
        process.exitCode = decision.allowed === true ? 0 : 1;
      }),
    );
}
