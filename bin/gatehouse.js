#!/usr/bin/env node
// Runs the Gatehouse CLI on the Node 24 that the project pins (npm package `node`), whatever
// Node the shell has: the sources are TypeScript run by Node 24's type stripping.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "main.ts");
const major = Number(process.versions.node.split(".")[0]);
if (major >= 24) {
  await import(main);
} else {
  const require = createRequire(import.meta.url);
  const node = join(dirname(require.resolve("node/package.json")), "bin", "node");
  const result = spawnSync(node, [main, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
