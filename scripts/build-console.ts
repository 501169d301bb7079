import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * `npm start`'s prestart: builds the admin console (`console/dist/`) only when it is missing or
 * older than its sources, so a fresh clone gets it and a normal start stays fast.
 * `--force` always builds (the `prepare` step of `npm ci`).
 */

const root = new URL("../console/", import.meta.url).pathname;
const built = join(root, "dist", "index.html");

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sourcesTime = Math.max(
  newest(join(root, "src")),
  newest(join(root, "index.html")),
  newest(join(root, "vite.config.ts")),
);
const force = process.argv.includes("--force");
if (!force && existsSync(built) && statSync(built).mtimeMs >= sourcesTime) process.exit(0);

console.log("building the admin console (console/dist/)…");
const result = spawnSync(
  process.execPath,
  [join(root, "..", "node_modules", "vite", "bin", "vite.js"), "build", "--config", join(root, "vite.config.ts")],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
