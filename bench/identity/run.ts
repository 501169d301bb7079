// `npm run bench:identity`: identity flows of issue #16. The SCIM part is in scim.ts; the scheduled
// LDAP sync adds its part here.
//
// Usage: npm run bench:identity [-- --json] [-- --scale 0.1]
import { benchScim } from "./scim.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

const scim = await benchScim({
  users: Math.round(100_000 * scale),
  creates: Math.max(200, Math.round(4000 * scale)),
  lookups: Math.max(200, Math.round(3000 * scale)),
  log,
});
if (json) process.stdout.write(`${JSON.stringify({ scim }, null, 2)}\n`);
process.exitCode = scim.pass ? 0 : 1;
