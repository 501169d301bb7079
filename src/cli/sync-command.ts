import { Command } from "commander";
import { asClientCommand, callServer, type ServerClientFlags, withClientFlags } from "./check-command.ts";
import { CliError } from "./cli-error.ts";

interface SyncFlags extends ServerClientFlags {
  dryRun?: boolean;
  full?: boolean;
  json?: boolean;
  org?: string;
}

interface Run {
  id: string;
  status: "running" | "succeeded" | "failed";
  phase: string;
  mode: string;
  progress: { users?: number; groups?: number };
  counts: Record<string, number>;
  conflicts: { kind: string; name: string; message: string }[];
  error: string | null;
  durationMs: number | null;
}

const POLL_MS = 500;

function progressLine(run: Run): string {
  return `${run.mode} sync: ${run.phase}: ${run.progress.users ?? 0} users, ${run.progress.groups ?? 0} groups read`;
}

/**
 * `gatehouse sync SOURCE`: runs an identity source's sync now on a server (`POST
 * /v1/identity-sources/{id}/sync`, SOURCE is its id or name) and follows it with a progress line
 * until it ends, then prints its counts and conflicts. `--dry-run` previews. Exit code 0 when the
 * run succeeded, 2 with a one-line message when it failed or the server refused.
 */
export function syncCommand(): Command {
  return withClientFlags(new Command("sync"))
    .description("sync an LDAP / Active Directory identity source now, showing its progress")
    .argument("<source>", "identity source id or name")
    .option("--dry-run", "preview: report what would change, write nothing")
    .option("--full", "a full run (sees deletions) even when an incremental one is due")
    .option("--json", "print the finished run as JSON")
    .option("--org <id>", "organisation of the source when SOURCE is a name (default: your own)")
    .action((source: string, flags: SyncFlags) =>
      asClientCommand(flags, async () => {
        const id = await sourceId(flags, source);
        const query = flags.dryRun ? "dryRun=true" : `mode=${flags.full ? "full" : "auto"}`;
        let run = (await callServer(flags, "POST", `/v1/identity-sources/${id}/sync?${query}`)) as Run;
        const tty = process.stderr.isTTY;
        while (run.status === "running") {
          process.stderr.write(tty ? `\r${progressLine(run)}\u001b[K` : `${progressLine(run)}\n`);
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          run = (await callServer(flags, "GET", `/v1/identity-sources/${id}/sync-runs/${run.id}`)) as Run;
        }
        if (tty) process.stderr.write("\r\u001b[K");
        if (flags.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
        else {
          const counts = Object.entries(run.counts)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${k}=${n}`)
            .join(" ");
          process.stdout.write(
            `${flags.dryRun ? "dry run" : `${run.mode} sync`} ${run.status} in ${run.durationMs ?? 0} ms${counts ? `: ${counts}` : ""}\n`,
          );
          for (const c of run.conflicts) process.stdout.write(`conflict\t${c.kind}\t${c.name}\t${c.message}\n`);
        }
        if (run.status === "failed") throw new CliError(`sync failed: ${run.error ?? "unknown error"}`);
      }),
    );
}

async function sourceId(flags: SyncFlags, source: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(source)) return source;
  const org = flags.org ? `&orgId=${encodeURIComponent(flags.org)}` : "";
  const list = (await callServer(flags, "GET", `/v1/identity-sources?limit=1000${org}`)) as {
    items: { id: string; name: string }[];
  };
  const found = list.items.find((s) => s.name.toLowerCase() === source.toLowerCase());
  if (!found) throw new CliError(`identity source \`${source}\` not found`);
  return found.id;
}
