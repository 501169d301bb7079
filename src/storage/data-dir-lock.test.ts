import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAIN, startServerProcess } from "../../test/support/server-process.ts";
import { DataDirInUse, LOCK_FILE, lockDataDir } from "./data-dir-lock.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gh-lock-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("data directory lock", () => {
  it("holds the owner's pid, refuses a second holder, and is free again once released", () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    expect(readFileSync(join(dir, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
    expect(() => lockDataDir(dir)).toThrow(DataDirInUse);
    expect(() => lockDataDir(dir)).toThrow(`in use by another Gatehouse process (pid ${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir).release();
  });

  it("refuses a lock whose pid is alive", () => {
    const dir = tempDir();
    // pid 1 is always alive (init); not ours, so the lock is another process's
    writeFileSync(join(dir, LOCK_FILE), "1\n");
    expect(() => lockDataDir(dir)).toThrow("(pid 1,");
  });

  it("takes over a lock whose pid is not alive, and says so", () => {
    const dir = tempDir();
    const pid = deadPid();
    writeFileSync(join(dir, LOCK_FILE), `${pid}\n`);
    const stale: number[] = [];
    const lock = lockDataDir(dir, { onTakeover: (s) => stale.push(s.pid) });
    expect(stale).toEqual([pid]);
    expect(readFileSync(join(dir, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
    lock.release();
  });

  it("takes over a lock naming our own pid that this process does not hold (a restarted container's pid 1)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`);
    const stale: number[] = [];
    lockDataDir(dir, { onTakeover: (s) => stale.push(s.pid) }).release();
    expect(stale).toEqual([process.pid]);
  });

  it("takes over a lock file that holds no pid", () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), "");
    lockDataDir(dir).release();
  });

  // Issue #13: two processes on one data folder each kept their own copy of the embedded
  // database and the last one to stop overwrote the other's acknowledged writes.
  it("a second `gatehouse serve` on the same data folder refuses to start; after a kill -9 the next one takes over", {
    timeout: 300_000,
  }, async () => {
    const dataDir = tempDir();
    const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PSK: "lock-test-psk-0123456789" };
    const first = await startServerProcess(env);
    try {
      const second = await startServerProcess(env).then(
        (s) => {
          s.child.kill("SIGKILL");
          return null;
        },
        (err: { code: number | string; output: string }) => err,
      );
      expect(second?.code).toBe(1);
      expect(second?.output).toContain(`is in use by another Gatehouse process (pid ${first.child.pid}`);
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    } finally {
      first.child.kill("SIGKILL");
      await first.exited;
    }
    // the next process on the folder (here `gatehouse migrate`, quicker than a server) takes over
    const next = spawnSync(process.execPath, [MAIN, "migrate"], {
      encoding: "utf8",
      env: { ...process.env, ...env, GATEHOUSE_LOG_LEVEL: "info" },
      timeout: 150_000,
    });
    expect(next.status).toBe(0);
    expect(next.stdout).toContain("data directory lock left by a process that is no longer running; taken over");
    expect(next.stdout).toContain(`"pid":${first.child.pid}`);
    expect(next.stdout).toContain("database is current");
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });
});
