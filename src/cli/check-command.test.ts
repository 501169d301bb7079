import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";

const run = promisify(execFile);
let t: TestApp;
let url: string;

/** Runs `gatehouse <args>` against the test server; resolves with exit code and output. */
async function gatehouse(
  args: string[],
  { server = url, psk = TEST_PSK }: { server?: string; psk?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["src/main.ts", ...args, "--server", server], {
      env: { ...process.env, GATEHOUSE_PSK: psk },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  t = await testApp();
  url = await t.app.listen({ host: "127.0.0.1", port: 0 });
}, 180_000);
afterAll(async () => {
  await t?.app.close();
});

describe(`gatehouse check and who (${TEST_BACKEND})`, () => {
  it("allows, denies, explains and lists who can access, with exit codes scripts can use", async () => {
    const s = await seedService(t);
    const resource = `catalog=sales,schema=${s.schema},table=orders`;
    const base = ["check", "--service", s.service, "--resource", resource, "--access", "select"];
    const allowed = await gatehouse([...base, "--user", s.alice]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(new RegExp(`^ALLOWED \\(policy ${s.policy.id}\\)`));
    const denied = await gatehouse([...base, "--user", s.bob]);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^DENIED/);
    const explained = await gatehouse([...base, "--user", s.alice, "--explain"]);
    const [line, ...rest] = explained.stdout.split("\n");
    expect(line).toMatch(/^ALLOWED/);
    expect(JSON.parse(rest.join("\n"))).toHaveProperty("source");
    const unknown = await gatehouse([...base, "--user", "nobody-at-all"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("DECISION_USER_UNKNOWN");

    const who = await gatehouse(["who", "--service", s.service, "--resource", resource]);
    expect(who.code).toBe(0);
    expect(who.stdout).toContain(`group\t${s.analysts}\tselect\tallowed\tpolicy ${s.policy.id}`);
  }, 300_000);

  it("makes --access required: without it check is a usage error, never ALLOWED; `_any` asks for any access", async () => {
    const s = await seedService(t);
    const base = ["check", "--service", s.service, "--user", s.alice];
    const resource = ["--resource", `catalog=sales,schema=${s.schema},table=orders`];
    const missing = await gatehouse([...base, ...resource]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain("--access");
    const empty = await gatehouse([...base, ...resource, "--access", ""]);
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe("");
    expect(empty.stderr).toContain("accessType");
    const any = await gatehouse([...base, ...resource, "--access", "_any"]);
    expect(any.code).toBe(0);
    expect(any.stdout).toMatch(/^ALLOWED/);
  }, 300_000);

  it("exits 2 with one line and no stack trace for every error", async () => {
    const s = await seedService(t);
    const check = ["check", "--service", s.service, "--user", s.alice, "--access", "select"];
    const resource = ["--resource", `catalog=sales,schema=${s.schema},table=orders`];
    // a port nobody listens on: take one and close it
    const closed = await listen((_req, res) => res.end());
    const closedUrl = closed.url;
    await new Promise((r) => closed.server.close(r));
    // a server that answers 200 with something that is not a decision
    const odd = await listen((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end('{"ok": true}');
    });
    const html = await listen((_req, res) => {
      res.statusCode = 502;
      res.end("<html>\n<body>bad gateway</body>\n</html>");
    });
    try {
      const cases: [string, Promise<{ code: number; stdout: string; stderr: string }>, string][] = [
        ["unreachable server", gatehouse([...check, ...resource], { server: closedUrl }), "cannot reach the server"],
        ["not a URL", gatehouse([...check, ...resource], { server: "not a url" }), "error:"],
        ["bad credentials", gatehouse([...check, ...resource], { psk: "ghp_wrong" }), "401"],
        ["bad --resource", gatehouse([...check, "--resource", "catalog"]), "--resource"],
        ["bad --resource of who", gatehouse(["who", "--service", s.service, "--resource", "=x"]), "--resource"],
        ["unknown service", gatehouse([...check.slice(0, 2), "nope", ...check.slice(3), ...resource]), "SERVICE"],
        ["an answer that is not a decision", gatehouse([...check, ...resource], { server: odd.url }), "not a decision"],
        ["a proxy's error page", gatehouse([...check, ...resource], { server: html.url }), "502 <html>"],
        ["who, unreachable", gatehouse(["who", "--service", s.service, ...resource], { server: closedUrl }), "reach"],
        ["bad --timeout", gatehouse([...check, ...resource, "--timeout", "soon"]), "--timeout"],
      ];
      for (const [what, pending, expected] of cases) {
        const r = await pending;
        expect(r.code, what).toBe(2);
        expect(r.stdout, what).toBe("");
        expect(r.stderr, what).toContain(expected);
        expect(r.stderr.trimEnd().split("\n"), what).toHaveLength(1);
        expect(r.stderr, what).not.toMatch(/\n\s+at /);
      }
    } finally {
      await new Promise((r) => odd.server.close(r));
      await new Promise((r) => html.server.close(r));
    }
  }, 300_000);
});

/** A throwaway HTTP server on a free port. */
async function listen(
  handler: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}` };
}
