import { Command } from "commander";

/** Connection flags shared by the commands that talk to a running server. */
export interface ServerClientFlags {
  server: string;
  psk?: string;
  apiKey?: string;
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
    .option("--api-key <key>", "API key (GATEHOUSE_API_KEY)");
}

/** Credential headers from the flags or the environment; both the PSK and API keys go in Authorization-PSK. */
export function authHeaders(flags: ServerClientFlags): Record<string, string> {
  const key = flags.apiKey ?? process.env.GATEHOUSE_API_KEY ?? flags.psk ?? process.env.GATEHOUSE_PSK;
  if (!key) throw new Error("no credentials: pass --psk or --api-key (or set GATEHOUSE_PSK / GATEHOUSE_API_KEY)");
  return { "authorization-psk": key };
}

/** Parses `catalog=sales,schema=eu,table=orders`. */
export function parseResource(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`--resource: \`${part}\` is not name=value (e.g. catalog=sales,schema=eu)`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Calls the server; prints its error and sets exit code 2 on a non-2xx answer. */
export async function callServer(
  flags: ServerClientFlags,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<unknown | undefined> {
  const res = await fetch(`${flags.server.replace(/\/+$/, "")}${path}`, {
    method,
    headers: { ...authHeaders(flags), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const err = JSON.parse(text) as { code?: string; message?: string };
      message = `${err.code}: ${err.message}`;
    } catch {
      // not JSON: print as is
    }
    process.stderr.write(`error: ${res.status} ${message}\n`);
    process.exitCode = 2;
    return undefined;
  }
  return JSON.parse(text);
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
 * 0 when allowed, 1 when denied, 2 on an error, so scripts can branch on it.
 */
export function checkCommand(): Command {
  return withClientFlags(new Command("check"))
    .description("ask a Gatehouse server whether a user may access a resource")
    .requiredOption("--service <name>", "service name, e.g. trino")
    .requiredOption("--user <name>", "user name")
    .requiredOption("--resource <pairs>", "resource as name=value pairs, e.g. catalog=sales,schema=eu,table=orders")
    .option("--access <type>", "access type, e.g. select", "")
    .option("--groups <list>", "comma-separated groups (default: the user's groups in the directory)")
    .option("--roles <list>", "comma-separated roles (default: the user's roles in the directory)")
    .option("--explain", "print the explanation too")
    .option("--json", "print the server's JSON answer")
    .action(async (flags: CheckFlags) => {
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
      )) as Record<string, unknown> | undefined;
      if (!answer) return;
      const decision = (flags.explain ? answer.decision : answer) as {
        allowed: boolean;
        policyId: number;
        reason: string;
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      else {
        const by = decision.policyId >= 0 ? ` (policy ${decision.policyId})` : "";
        process.stdout.write(`${decision.allowed ? "ALLOWED" : "DENIED"}${by}: ${decision.reason}\n`);
        if (flags.explain) process.stdout.write(`${JSON.stringify(answer.explanation, null, 2)}\n`);
      }
      process.exitCode = decision.allowed ? 0 : 1;
    });
}
