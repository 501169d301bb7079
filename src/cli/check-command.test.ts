import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";

const run = promisify(execFile);
let t: TestApp;
let url: string;

/** Runs `gatehouse <args>` against the test server; resolves with exit code and output. */
async function gatehouse(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["src/main.ts", ...args, "--server", url], {
      env: { ...process.env, GATEHOUSE_PSK: TEST_PSK },
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
});
afterAll(async () => {
  await t.app.close();
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
  }, 60_000);
});
