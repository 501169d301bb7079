import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { readMigrations } from "../storage/migrate.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), "gh-cli-")), ...env },
    timeout: 60_000,
  });
}

/** Starts `gatehouse serve` and resolves with its URL once it logs that it listens. */
function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: { ...process.env, GATEHOUSE_PORT: "0", GATEHOUSE_LOG_LEVEL: "info", ...env },
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:[^"]+)".*"msg":"gatehouse listening"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("gatehouse CLI", () => {
  it("prints its version", () => {
    const result = run(["version"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^gatehouse \d+\.\d+\.\d+ \(node 24\./);
  });

  it("has --help for each command", () => {
    for (const command of ["serve", "migrate", "version"]) {
      const result = run([command, "--help"]);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`Usage: gatehouse ${command}`);
    }
  });

  it("exits with code 2 and names the setting and the rule for an invalid value", () => {
    const result = run(["serve"], { GATEHOUSE_PORT: "eighty" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/GATEHOUSE_PORT: must be integer/);
  });

  it("migrates without serving", () => {
    const result = run(["migrate"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/applied migrations 1/);
  });

  it("exits after migrating a database that is already current", { timeout: 150_000 }, () => {
    // Closing used to leave the embedded database open when no Kysely query had run, so the
    // second `migrate` printed its line and never exited (PostgreSQL's idle pool held it 10 s).
    const env: Record<string, string> = url
      ? { GATEHOUSE_DATABASE_URL: url }
      : { GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), "gh-cli-")) };
    expect(run(["migrate"], env).status).toBe(0);
    const again = run(["migrate"], env);
    expect(again.stdout).toContain("database is current");
    expect(again.status).toBe(0);
  });

  it("serves on the embedded database, prints the generated PSK once, keeps data across a restart and stops on SIGTERM", {
    timeout: 150_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gh-serve-"));
    const first = await serve({ GATEHOUSE_DATA_DIR: dataDir });
    const psk = /Authorization-PSK: (ghp_\S+)/.exec(first.output())?.[1];
    expect(psk).toBeDefined();
    const created = await fetch(`${first.url}/v1/service-accounts`, {
      method: "POST",
      headers: { "authorization-psk": psk ?? "", "content-type": "application/json" },
      body: JSON.stringify({ name: "kept", roles: ["viewer"] }),
    });
    expect(created.status).toBe(201);
    expect(await stopped(first.child)).toBe(0);

    const second = await serve({ GATEHOUSE_DATA_DIR: dataDir });
    expect(second.output()).not.toContain("Authorization-PSK:");
    const list = await fetch(`${second.url}/v1/service-accounts`, { headers: { "authorization-psk": psk ?? "" } });
    const accounts = (await list.json()) as { items: { name: string }[] };
    expect(accounts.items.map((a) => a.name)).toContain("kept");
    expect(await stopped(second.child)).toBe(0);
  });

  // Runs in the PostgreSQL pass of `npm test` only: two processes cannot share one embedded database.
  it.runIf(url)(
    "two servers started at once against one empty PostgreSQL both come up; migrations ran once",
    { timeout: 150_000 },
    async () => {
      const name = `gh_two_${randomUUID().slice(0, 8)}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`create database ${name}`);
      const target = new URL(url ?? "");
      target.pathname = `/${name}`;
      try {
        const env = { GATEHOUSE_DATABASE_URL: target.href, GATEHOUSE_PSK: "two-servers-psk-0123456789" };
        const [a, b] = await Promise.all([serve(env), serve(env)]);
        for (const server of [a, b]) {
          expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
        }
        const check = new pg.Client({ connectionString: target.href });
        await check.connect();
        const { rows } = await check.query(
          "select version, count(*)::int as n from schema_migrations group by version",
        );
        await check.end();
        expect(rows.length).toBe(readMigrations().length);
        expect(rows.every((row) => row.n === 1)).toBe(true);
        await Promise.all([stopped(a.child), stopped(b.child)]);
      } finally {
        await admin.query(`drop database ${name} with (force)`);
        await admin.end();
      }
    },
  );
});
