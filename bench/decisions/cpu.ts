import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/** CPU seconds a process has used so far, split as the kernel counts them. */
export interface CpuTimes {
  /** In the process's own code (JavaScript, V8, libuv). */
  user: number;
  /** In the kernel on its behalf (on loopback, a send also runs the receiver's TCP path). */
  system: number;
}

/**
 * CPU seconds (user and system) a process has used so far, from /proc/<pid>/stat. Per-request
 * CPU time of a server is far less noisy than its requests per second on a shared machine, and
 * the split tells JavaScript work from socket work.
 */
export function cpuTimesOf(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
}

/** CPU seconds (user + system) a process has used so far (see `cpuTimesOf`). */
export function cpuSecondsOf(pid: number): number {
  const { user, system } = cpuTimesOf(pid);
  return user + system;
}
