import { Command, CommanderError } from "commander";
import pino from "pino";
import { ConfigError } from "../config/config-error.ts";
import { DataDirInUse } from "../storage/data-dir-lock.ts";
import { migrate } from "../storage/migrate.ts";
import { NAMES_NFC_MIGRATION, namesMigrationMessage, namesMigrationReport } from "../storage/names-migration-report.ts";
import { VERSION } from "../version.ts";
import { checkCommand } from "./check-command.ts";
import { CliError } from "./cli-error.ts";
import { simulateCommand } from "./simulate-command.ts";
import { syncCommand } from "./sync-command.ts";
import { testCommand } from "./test-command.ts";
import { whoCommand } from "./who-command.ts";

interface ServerFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
}

function withServerFlags(command: Command): Command {
  return command
    .option("-c, --config <file>", "JSON config file (keys as in docs/config.md)")
    .option("--host <host>", "listen address (GATEHOUSE_HOST)")
    .option("--port <port>", "listen port (GATEHOUSE_PORT)")
    .option("--data-dir <dir>", "folder of the embedded database (GATEHOUSE_DATA_DIR)")
    .option("--database-url <url>", "postgres:// URL (GATEHOUSE_DATABASE_URL)")
    .option("--log-level <level>", "pino log level (GATEHOUSE_LOG_LEVEL)");
}

async function configFrom(flags: ServerFlags) {
  const { loadConfig } = await import("../config/load.ts");
  return loadConfig({
    env: process.env,
    configFile: flags.config,
    flags: {
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      databaseUrl: flags.databaseUrl,
      logLevel: flags.logLevel,
    },
  });
}

/**
 * The server module is loaded only by the commands that need it (`serve`, `migrate`): it pulls in
 * every route and takes about 2 s to import, which the client commands (`check`, `who`,
 * `simulate`, `sync`) and `--help` should not pay.
 */
function loadServer(): Promise<typeof import("../server.ts")> {
  return import("../server.ts");
}

/** Builds the `gatehouse` command line. Later features add their commands here. */
export async function buildCli(): Promise<Command> {
  const program = new Command("gatehouse")
    .description("Gatehouse: access governance for data platforms")
    .version(VERSION, "-V, --version-flag")
    .exitOverride();

  withServerFlags(program.command("serve").description("run the HTTP server (migrates the database first)")).action(
    async (flags: ServerFlags) => {
      const { startServer } = await loadServer();
      await startServer(await configFrom(flags));
    },
  );

  withServerFlags(program.command("migrate").description("apply pending database migrations and exit")).action(
    async (flags: ServerFlags) => {
      const config = await configFrom(flags);
      const log = pino({ level: config.logLevel, name: "gatehouse" });
      const { openConfiguredDb } = await loadServer();
      const db = await openConfiguredDb(config, log);
      try {
        const applied = await migrate(db);
        process.stdout.write(applied.length ? `applied migrations ${applied.join(", ")}\n` : "database is current\n");
        const report = applied.includes(NAMES_NFC_MIGRATION) ? await namesMigrationReport(db) : null;
        if (report) process.stdout.write(`${namesMigrationMessage(report).message}\n`);
      } finally {
        await db.close();
      }
    },
  );

  program
    .command("version")
    .description("print the version")
    .action(() => {
      process.stdout.write(`gatehouse ${VERSION} (node ${process.versions.node})\n`);
    });

  // addCommand does not pass exitOverride on: without it a usage error in these commands would
  // make commander exit(1) itself, which `check` uses for "denied"
  for (const command of [testCommand(), checkCommand(), whoCommand(), simulateCommand(), syncCommand()])
    program.addCommand(command.exitOverride());
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 on success, 2 for invalid configuration or usage
 * (the message names the setting and the rule) and for any failure of a client command (`check`,
 * `who`: one line, no stack trace; `check` exits 1 for "denied"), 1 for any other failure.
 */
export async function runCli(argv: string[]): Promise<number> {
  const program = await buildCli();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CommanderError) return err.exitCode === 1 ? 2 : err.exitCode;
    if (err instanceof DataDirInUse) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`gatehouse: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
