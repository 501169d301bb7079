import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two test files at a time, also on a 2-core machine (vitest's default there is one): most
    // files wait on PostgreSQL, slapd, a child server or Chromium as much as they compute, and the
    // suite must finish within CI's 30 minutes. GATEHOUSE_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.GATEHOUSE_TEST_WORKERS ?? 2),
  },
});
