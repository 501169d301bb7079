import { randomUUID } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Name of the lock file in the data folder; it holds the owning process's pid. */
export const LOCK_FILE = "gatehouse.lock";

/** Thrown when another live process holds the data folder; the CLI prints the message and exits 1. */
export class DataDirInUse extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataDirInUse";
  }
}

/** A held data-folder lock; `release` removes the file if it is still ours. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/** Lock files this process holds, so a second open in the same process is refused too. */
const heldHere = new Set<string>();

/**
 * Takes the lock of an embedded data folder. PGlite is one process's database: two processes
 * on one folder each keep their own copy in memory and the last to stop overwrites the other's
 * writes, so a second process must not start at all.
 *
 * The lock file is created exclusively (`wx`) with our pid. When it exists, its pid decides:
 * a live process (or this process, already holding it) keeps it and we throw `DataDirInUse`; a
 * pid that is not alive left it behind when it crashed or was killed, so we take it over and
 * report that through `onTakeover`. Taking over is itself guarded by a second exclusive file, so
 * two processes finding the same stale lock cannot both win.
 */
export function lockDataDir(
  dir: string,
  opts: { onTakeover?: (stale: { pid: number; path: string }) => void } = {},
): DataDirLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path)) return held(path);
    const owner = readPid(path);
    if (owner === undefined) continue; // released meanwhile: try again
    if (owner !== null && isHeld(path, owner)) throw inUse(dir, path, owner);
    const guard = `${path}.takeover`;
    if (!createExclusive(guard)) {
      // another process is taking over right now; a guard left by a dead process is removed
      const guardOwner = readPid(guard);
      if (guardOwner === undefined || (guardOwner !== null && isHeld(guard, guardOwner))) continue;
      removeIfPid(guard, guardOwner);
      continue;
    }
    try {
      // still the same stale owner: nobody took it over between our read and our guard
      if (readPid(path) === owner) {
        removeIfPid(path, owner);
        if (createExclusive(path)) {
          opts.onTakeover?.({ pid: owner ?? 0, path });
          return held(path);
        }
      }
    } finally {
      unlinkSync(guard);
    }
  }
  throw inUse(dir, path, readPid(path) ?? 0);
}

function held(path: string): DataDirLock {
  heldHere.add(path);
  return {
    path,
    release() {
      heldHere.delete(path);
      removeIfPid(path, process.pid);
    },
  };
}

function inUse(dir: string, path: string, pid: number): DataDirInUse {
  return new DataDirInUse(
    `the data directory \`${dir}\` is in use by another Gatehouse process (pid ${pid}, lock file \`${path}\`): ` +
      "the embedded database serves one process only; stop that process, give this one its own " +
      "--data-dir, or use PostgreSQL (GATEHOUSE_DATABASE_URL) to run several servers",
  );
}

/**
 * Creates `path` holding our pid unless it exists; false when it does. The pid is written to a
 * private file first and hard-linked into place (atomic, and refused when the name exists), so a
 * lock file is never seen half-written.
 */
function createExclusive(path: string): boolean {
  const draft = `${path}.${process.pid}.${randomUUID().slice(0, 8)}`;
  writeFileSync(draft, `${process.pid}\n`);
  try {
    linkSync(draft, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(draft);
  }
}

/** The pid in a lock file; undefined when there is no file, null when it holds no pid (edited by hand). */
function readPid(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Whether the lock at `path` naming `pid` is held. Our own pid counts only when this process
 * took the lock: in a container every start may be pid 1, and a file from the previous start
 * naming pid 1 is stale, not ours.
 */
function isHeld(path: string, pid: number): boolean {
  if (pid === process.pid) return heldHere.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes `path` when it still names `pid` (null: when it holds no pid). */
function removeIfPid(path: string, pid: number | null): void {
  if (readPid(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
