import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { asClientCommand, callServer, type ServerClientFlags, withClientFlags } from "./check-command.ts";
import { CliError } from "./cli-error.ts";

interface SimulateFlags extends ServerClientFlags {
  service: string;
  draft: string;
  days?: string;
  json?: boolean;
}

interface Report {
  draft: { created: number[]; updated: number[]; deleted: number[]; directoryChanges: boolean };
  replay: {
    replayed: number;
    changed: number;
    newlyAllowed: number;
    newlyDenied: number;
    maskChanged: number;
    rowFilterChanged: number;
    truncated: boolean;
    nextCursor: string | null;
    changes: { user: string; resource: Record<string, unknown>; accessType: string; direction: string }[];
  };
  exposure: { diffs: unknown[] };
  noNewAccess: {
    noNewAccess: boolean;
    complete: boolean;
    counterexampleCount: number;
    counterexamples: { user: string; resource: Record<string, string>; accessType: string; policyId: number }[];
  };
}

const resourceText = (r: Record<string, unknown>) =>
  Object.entries(r)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : String(v)}`)
    .join(",");

/**
 * `gatehouse simulate --service trino --draft draft.json`: asks a running server what a draft would
 * do (`POST /v1/services/{service}/simulations`, the draft file being that route's body) and prints
 * a summary. Exit code 0 when the draft adds no access, 1 when it does (the counterexamples are
 * printed), 2 on any error (unreadable draft, refused draft, unreachable server): a review pipeline
 * fails a change that widens access. A replay with more logged requests than one call replays is
 * followed page by page, so the totals are the whole window's.
 */
export function simulateCommand(): Command {
  return withClientFlags(new Command("simulate"))
    .description("simulate a policy draft: replayed decisions that change, and whether it adds access (exit 1)")
    .requiredOption("--service <name>", "service name, e.g. trino")
    .requiredOption("--draft <file>", "JSON draft: {policies: {create, update, delete}, directory}")
    .option("--days <n>", "replay window in days (default 30)")
    .option("--json", "print the server's JSON answer (the first page of a paged replay)")
    .action((flags: SimulateFlags) =>
      asClientCommand(flags, async () => {
        let draft: Record<string, unknown>;
        try {
          draft = JSON.parse(await readFile(flags.draft, "utf8")) as Record<string, unknown>;
        } catch (err) {
          throw new CliError(`--draft: cannot read \`${flags.draft}\` as JSON: ${(err as Error).message}`);
        }
        if (draft === null || typeof draft !== "object" || Array.isArray(draft))
          throw new CliError(`--draft: \`${flags.draft}\` must hold a JSON object`);
        const days = flags.days === undefined ? undefined : Number(flags.days);
        if (days !== undefined && !(Number.isInteger(days) && days >= 1))
          throw new CliError(`--days: \`${flags.days}\` is not a whole number of days`);
        const path = `/v1/services/${encodeURIComponent(flags.service)}/simulations`;
        const replayOf = (cursor?: string) => ({
          ...((draft.replay as object | undefined) ?? {}),
          ...(days !== undefined ? { days } : {}),
          ...(cursor ? { cursor } : {}),
        });
        const first = (await callServer(flags, "POST", path, { ...draft, replay: replayOf() })) as Report;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(first, null, 2)}\n`);
          process.exitCode = first.noNewAccess.noNewAccess ? 0 : 1;
          return;
        }
        const totals = { ...first.replay };
        const changes = [...first.replay.changes];
        let cursor = first.replay.nextCursor;
        while (cursor) {
          const page = (await callServer(flags, "POST", path, { ...draft, replay: replayOf(cursor) })) as Report;
          for (const k of [
            "replayed",
            "changed",
            "newlyAllowed",
            "newlyDenied",
            "maskChanged",
            "rowFilterChanged",
          ] as const)
            totals[k] += page.replay[k];
          changes.push(...page.replay.changes);
          cursor = page.replay.nextCursor;
        }
        const d = first.draft;
        const lines = [
          `draft: ${d.created.length} created, ${d.updated.length} updated, ${d.deleted.length} deleted${d.directoryChanges ? ", directory changes" : ""}`,
          `replay: ${totals.replayed} logged requests, ${totals.changed} change: ${totals.newlyAllowed} newly allowed, ${totals.newlyDenied} newly denied, ${totals.maskChanged} mask, ${totals.rowFilterChanged} row filter`,
        ];
        for (const c of changes.slice(0, 50))
          lines.push(`  ${c.direction}\t${c.user}\t${resourceText(c.resource)}\t${c.accessType}`);
        if (changes.length > 50 || totals.changed > changes.length)
          lines.push(`  … ${totals.changed - Math.min(50, changes.length)} more (--json for the list)`);
        lines.push(`exposure: ${first.exposure.diffs.length} resources whose who-can-access changes`);
        const v = first.noNewAccess;
        if (v.noNewAccess)
          lines.push(
            `no new access${v.complete ? "" : " among the principals and resources checked (capped: not a proof)"}`,
          );
        else {
          lines.push(
            `NEW ACCESS: ${v.counterexampleCount} (principal, resource, access) the draft allows that were denied:`,
          );
          for (const c of v.counterexamples.slice(0, 20))
            lines.push(`  ${c.user}\t${resourceText(c.resource)}\t${c.accessType}\tpolicy ${c.policyId}`);
        }
        process.stdout.write(`${lines.join("\n")}\n`);
        process.exitCode = v.noNewAccess ? 0 : 1;
      }),
    );
}
