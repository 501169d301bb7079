import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { expect, onTestFailed } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process.ts";
import { launchChromium, seriousViolations } from "./browser.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running `gatehouse serve` with the built console, a Chromium, and the helpers a console test needs. */
export interface ConsoleHarness {
  url: string;
  browser: Browser;
  psk: string;
  /** The API as the general PSK, for setup that is not the path under test; the JSON answer. */
  asAdmin: <T = Record<string, string>>(method: string, path: string, body?: unknown) => Promise<T>;
  /** A 1280×800 page signed in with `key`, on the overview; what it showed is printed if the test fails. */
  signedIn: (key: string) => Promise<Page>;
  /** axe-core finds no serious or critical violation on the page. */
  expectAccessible: (page: Page, where: string) => Promise<void>;
  close: () => Promise<void>;
}

/**
 * Starts the server (on `GATEHOUSE_TEST_DATABASE_URL` when set, else its own PGlite), building the
 * console first if it was never built, and Chromium: the same setup as console.e2e.test.ts, for
 * console test files that need no more.
 */
export async function startConsoleHarness(): Promise<ConsoleHarness> {
  if (!existsSync(join(ROOT, "console", "dist", "index.html"))) {
    const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.ts")], { stdio: "inherit" });
    if (built.status !== 0) throw new Error("the console did not build");
  }
  const psk = `console-harness-psk-${Math.random().toString(36).slice(2)}`;
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-console-"));
  const databaseUrl = process.env.GATEHOUSE_TEST_DATABASE_URL;
  const server: ServerProcess = await startServerProcess(
    {
      GATEHOUSE_PSK: psk,
      GATEHOUSE_DATA_DIR: dataDir,
      ...(databaseUrl ? { GATEHOUSE_DATABASE_URL: databaseUrl } : {}),
    },
    300_000,
  );
  const browser = await launchChromium();

  const asAdmin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(server.url + path, {
      method,
      headers: { "authorization-psk": psk, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const signedIn = async (key: string) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    onTestFailed(async ({ task }) => {
      if (page.isClosed()) return;
      const text = await page
        .locator("body")
        .innerText({ timeout: 5_000 })
        .catch((err: unknown) => `(no text: ${String(err)})`);
      console.error(`"${task.name}" failed on ${page.url()}; the page read:\n${text.slice(0, 4_000)}`);
    });
    await page.goto(`${server.url}/console/`);
    await page.getByLabel("Key").fill(key);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    return page;
  };

  const expectAccessible = async (page: Page, where: string) => {
    await page.waitForLoadState("networkidle");
    expect(await seriousViolations(page), where).toEqual([]);
  };

  const close = async () => {
    await browser.close();
    server.child.kill("SIGTERM");
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  };

  return { url: server.url, browser, psk, asAdmin, signedIn, expectAccessible, close };
}
