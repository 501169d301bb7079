import { Command } from "commander";
import {
  asClientCommand,
  callServer,
  parseResource,
  type ServerClientFlags,
  withClientFlags,
} from "./check-command.ts";

interface WhoFlags extends ServerClientFlags {
  service: string;
  resource: string;
  json?: boolean;
}

interface Entry {
  name: string;
  accesses: { accessType: string; result: string; policyId: number | null }[];
}

/**
 * `gatehouse who`: who can access a resource (`GET /v1/services/{service}/access`), one line per
 * user, group or role and access type, with the result and the deciding policy. Exit code 0, or
 * 2 with a one-line message on any error.
 */
export function whoCommand(): Command {
  return withClientFlags(new Command("who"))
    .description("list the users, groups and roles allowed or denied on a resource")
    .requiredOption("--service <name>", "service name, e.g. trino")
    .requiredOption("--resource <pairs>", "resource as name=value pairs, e.g. catalog=sales,schema=eu")
    .option("--json", "print the server's JSON answer")
    .action((flags: WhoFlags) =>
      asClientCommand(flags, async () => {
        parseResource(flags.resource);
        const path = `/v1/services/${encodeURIComponent(flags.service)}/access?resource=${encodeURIComponent(flags.resource)}`;
        const answer = (await callServer(flags, "GET", path)) as Record<string, Entry[]>;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
          return;
        }
        const lines: string[] = [];
        for (const kind of ["users", "groups", "roles"] as const) {
          for (const e of answer[kind] ?? []) {
            for (const a of e.accesses) {
              lines.push(
                `${kind.slice(0, -1)}\t${e.name}\t${a.accessType}\t${a.result}\t${a.policyId === null ? "-" : `policy ${a.policyId}`}`,
              );
            }
          }
        }
        process.stdout.write(
          lines.length ? `${lines.join("\n")}\n` : "nobody: no policy names a principal on this resource\n",
        );
      }),
    );
}
