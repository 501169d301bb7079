import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeBlocks, isRunnable, ROOT, read } from "./markdown.ts";

/**
 * The README's shell examples, run in order as a new user would: one bash session (so variables
 * carry from block to block, `set -euo pipefail`, every curl with `--fail-with-body`) against a
 * real `gatehouse serve` on a free port with a fresh data dir, as `npm start` gives. The README's
 * setup block (tagged `sh no-test`) exports GATEHOUSE_SERVER and GATEHOUSE_PSK; the test sets the
 * two itself. A block tagged `sh no-test` is skipped (it needs what a test cannot have: an
 * external PostgreSQL, `npm ci`); every fence must carry a language, so an example cannot hide
 * as an untagged block.
 */

let server: ChildProcess | undefined;
let dataDir: string;
let url = "";
let psk = "";
let output = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gh-readme-"));
  const env: Record<string, string | undefined> = {
    ...process.env,
    GATEHOUSE_PORT: "0",
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_LOG_LEVEL: "info",
  };
  for (const k of ["GATEHOUSE_PSK", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_HOST", "GATEHOUSE_API_KEY"]) delete env[k];
  const child = spawn(process.execPath, [join(ROOT, "src/main.ts"), "serve"], { env, cwd: ROOT });
  server = child;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /"url":"(http:[^"]+)".*"msg":"gatehouse listening"/.exec(output);
      const key = /Authorization-PSK: (ghp_\S+)/.exec(output);
      if (listening?.[1] && key?.[1]) {
        url = listening[1];
        psk = key[1];
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}, 180_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.on("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe("README.md", () => {
  const blocks = codeBlocks(read("README.md"));

  it("tags every fenced block with a language, and tags the setup block `sh no-test`", () => {
    expect(blocks.filter((b) => b.info === "").map((b) => `README.md:${b.line}`)).toEqual([]);
    const setup = blocks.find((b) => b.text.includes("export GATEHOUSE_PSK="));
    expect(setup?.info).toBe("sh no-test");
    expect(setup?.text).toContain("export GATEHOUSE_SERVER=");
  });

  it("runs every shell example in order against a fresh server and reaches an allowed decision", () => {
    const runnable = blocks.filter(isRunnable);
    expect(runnable.length).toBeGreaterThanOrEqual(4);
    const script = ["set -euo pipefail", ...runnable.map((b) => `echo "### README.md:${b.line}" >&2\n${b.text}`)].join(
      "\n",
    );
    const env: Record<string, string | undefined> = { ...process.env, GATEHOUSE_SERVER: url, GATEHOUSE_PSK: psk };
    delete env.GATEHOUSE_API_KEY;
    const run = spawnSync("bash", ["-c", script], { cwd: ROOT, env, encoding: "utf8", timeout: 600_000 });
    const failedAt = [...(run.stderr ?? "").matchAll(/### (README\.md:\d+)/g)].pop()?.[1];
    expect(run.status, `failed in the block at ${failedAt}:\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('"allowed":true');
    expect(run.stdout).toMatch(/ALLOWED \(policy \d+\)/);
  }, 900_000);
});
