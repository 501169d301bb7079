import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expect, onTestFailed } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process.ts";
import { launchChromium, seriousViolations } from "./browser.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A fresh browser context and its one page, as {@link ConsoleHarness.open} gives them. */
export interface ConsoleWindow {
  /** Close it at the end of the test; its cookies are its session. */
  context: BrowserContext;
  page: Page;
}

/**
 * A running console to drive: a real `gatehouse serve` process with the built console, a headless
 * Chromium, and the helpers every console end-to-end test file shares, so the files differ only in
 * what they test.
 */
export interface ConsoleHarness {
  /** The server's base URL (`http://127.0.0.1:<port>`). */
  url: string;
  browser: Browser;
  /** The general PSK the server was started with (random per run, so no test can depend on its value). */
  psk: string;
  /**
   * The API as the general PSK, for setup that is not the path under test; the JSON answer, typed as
   * the caller says (the tests check the fields they read). Throws on any non-2xx.
   */
  asAdmin: <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;
  /**
   * A new 1280×800 context (its own session: an administrator's, a viewer's) and its page; if the
   * test fails, what the page showed is printed and screenshotted, as CI keeps only the log.
   */
  open: () => Promise<ConsoleWindow>;
  /** Signs in at the sign-in page with `key` and waits for the overview. */
  signIn: (page: Page, key: string) => Promise<void>;
  /** {@link open} then {@link signIn}: a 1280×800 page signed in with `key`, on the overview. */
  signedIn: (key: string) => Promise<Page>;
  /** Fails with the page's serious and critical axe-core violations, if any, once it is idle. */
  expectAccessible: (page: Page, where: string) => Promise<void>;
  /**
   * Screenshots the page, once idle, as `<name>.png`: into docs/console with
   * GATEHOUSE_CONSOLE_SCREENSHOTS=1, else a temp folder.
   */
  shoot: (page: Page, name: string) => Promise<void>;
  /** Closes Chromium, stops the server and removes its data folder. */
  close: () => Promise<void>;
}

/** Builds the console once when `console/dist` is missing, so a fresh checkout's e2e run works. */
function buildConsoleIfMissing(): void {
  if (existsSync(join(ROOT, "console", "dist", "index.html"))) return;
  const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.ts")], { stdio: "inherit" });
  if (built.status !== 0) throw new Error("the console did not build");
}

/**
 * Screenshots refresh docs/console/*.png only when asked (GATEHOUSE_CONSOLE_SCREENSHOTS=1), so a
 * test run leaves the repository as it was; otherwise they go to a temp folder.
 */
function screenshotFolder(): string {
  const shots =
    process.env.GATEHOUSE_CONSOLE_SCREENSHOTS === "1"
      ? join(ROOT, "docs", "console")
      : mkdtempSync(join(tmpdir(), "gatehouse-console-shots-"));
  mkdirSync(shots, { recursive: true });
  return shots;
}

/**
 * Starts what a console end-to-end test needs: builds the console when it was never built, starts a
 * server with a random general PSK on the suite's database (GATEHOUSE_TEST_DATABASE_URL, shared by
 * the suite on PostgreSQL, else a PGlite folder of its own) and launches Chromium. Call it in
 * `beforeAll` with a generous timeout (a loaded machine takes minutes to migrate a database).
 */
export async function startConsoleHarness(): Promise<ConsoleHarness> {
  buildConsoleIfMissing();
  const shots = screenshotFolder();
  const psk = `console-e2e-psk-${Math.random().toString(36).slice(2)}`;
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

  const showOnFailure = (page: Page) =>
    onTestFailed(async ({ task }) => {
      if (page.isClosed()) return;
      const text = await page
        .locator("body")
        .innerText({ timeout: 5_000 })
        .catch((err: unknown) => `(no text: ${String(err)})`);
      const shot = join(shots, `failed-${task.name.slice(0, 40).replace(/\W+/g, "-")}.png`);
      await page.screenshot({ path: shot }).catch(() => undefined);
      console.error(
        `"${task.name}" failed on ${page.url()} (screenshot ${shot}); the page read:\n${text.slice(0, 4_000)}`,
      );
    });

  const open = async (): Promise<ConsoleWindow> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    showOnFailure(page);
    return { context, page };
  };

  const signIn = async (page: Page, key: string) => {
    await page.goto(`${server.url}/console/`);
    await page.getByLabel("Key").fill(key);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  };

  return {
    url: server.url,
    browser,
    psk,
    asAdmin,
    open,
    signIn,
    signedIn: async (key) => {
      const { page } = await open();
      await signIn(page, key);
      return page;
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
