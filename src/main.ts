#!/usr/bin/env node
import { runCli } from "./cli/index.ts";

// Composition root: the CLI decides what to start (serve, migrate, version, test, ...).
process.exitCode = await runCli(process.argv);
