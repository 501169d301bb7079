import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { expect, onTestFailed } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process.ts";
import { launchChromium, seriousViolations } from "./browser.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running console to drive: a real `gatehouse serve` process and headless Chromium. */
export interface ConsoleHarness {
  server: ServerProcess;
  browser: Browser;
  /** The server's base URL (`http://127.0.0.1:<port>`). */
  base: string;
  /** The general PSK the server was started with. */
  psk: string;
  /** Where screenshots go: docs/console with GATEHOUSE_CONSOLE_SCREENSHOTS=1, else a temp folder. */
  shots: string;
  /** The API as the general PSK, for setup that is not the path under test; throws on any non-2xx. */
  asAdmin: (method: string, path: string, body?: unknown) => Promise<unknown>;
  /** Signs in at the sign-in page with `key` and waits for the overview. */
  signIn: (page: Page, key: string) => Promise<void>;
  /** Fails with the page's serious and critical axe-core violations, if any. */
  expectAccessible: (page: Page, where: string) => Promise<void>;
  shoot: (page: Page, name: string) => Promise<void>;
  close: () => Promise<void>;
}

/**
 * Starts what a console end-to-end test needs, as test/console/console.e2e.test.ts does: builds
 * the console when `console/dist` is missing, starts a server on the suite's database
 * (GATEHOUSE_TEST_DATABASE_URL, else a PGlite folder of its own) and launches Chromium. When a test
 * fails, its page's text and a screenshot are printed (CI keeps only the log).
 */
export async function startConsoleHarness(psk: string): Promise<ConsoleHarness> {
  if (!existsSync(join(ROOT, "console", "dist", "index.html"))) {
    const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.ts")], { stdio: "inherit" });
    if (built.status !== 0) throw new Error("the console did not build");
  }
  const shots =
    process.env.GATEHOUSE_CONSOLE_SCREENSHOTS === "1"
      ? join(ROOT, "docs", "console")
      : mkdtempSync(join(tmpdir(), "gatehouse-console-shots-"));
  mkdirSync(shots, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-console-"));
  const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
  const server = await startServerProcess(
    { GATEHOUSE_PSK: psk, GATEHOUSE_DATA_DIR: dataDir, ...(url ? { GATEHOUSE_DATABASE_URL: url } : {}) },
    300_000,
  );
  const browser = await launchChromium();

  const asAdmin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { "authorization-psk": psk, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const showOnFailure = (page: Page) =>
    onTestFailed(async ({ task }) => {
      if (page.isClosed()) return;
      const text = await page
        .locator("body")
        .innerText({ timeout: 5_000 })
        .catch((err: unknown) => `(no text: ${String(err)})`);
      const shot = join(shots, `failed-${task.name.slice(0, 40).replace(/\W+/g, "-")}.png`);
      await page.screenshot({ path: shot }).catch(() => undefined);
      console.error(`the failed test's page was ${page.url()} (screenshot ${shot}); it read:\n${text.slice(0, 4_000)}`);
    });

  return {
    server,
    browser,
    base: server.url,
    psk,
    shots,
    asAdmin,
    signIn: async (page, key) => {
      showOnFailure(page);
      await page.goto(`${server.url}/console/`);
      await page.getByLabel("Key").fill(key);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByRole("heading", { name: "Overview" }).waitFor();
    },
    expectAccessible: async (page, where) => {
      await page.waitForLoadState("networkidle");
      expect(await seriousViolations(page), where).toEqual([]);
    },
    shoot: async (page, name) => {
      await page.waitForLoadState("networkidle");
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
    },
    close: async () => {
      await browser.close();
      server.child.kill("SIGTERM");
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
