#!/usr/bin/env node
import { enableCompileCache } from "node:module";

// Node's on-disk compile cache (in the OS temp folder) keeps the stripped and compiled modules
// between runs: a server start or CLI command loads about 1 s faster once it is warm.
enableCompileCache();
const { runCli } = await import("./cli/index.ts");

// Composition root: the CLI decides what to start (serve, migrate, version, test, ...).
process.exitCode = await runCli(process.argv);
