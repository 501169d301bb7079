import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { TEST_PSK, type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";

const run = promisify(execFile);
let t: TestApp;
let url: string;
let dir: string;

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
  dir = await mkdtemp(join(tmpdir(), "gh-simulate-"));
}, 180_000);
afterAll(async () => {
  await t?.app.close();
  await rm(dir, { recursive: true, force: true });
});

describe(`gatehouse simulate (${TEST_BACKEND})`, () => {
  it("refuses a draft that adds access with the counterexample (exit 1), passes one that does not (exit 0)", async () => {
    const s = await seedService(t);
    const broader = join(dir, "broader.json");
    await writeFile(
      broader,
      JSON.stringify({
        policies: {
          create: [
            {
              name: uniqueName("broad"),
              resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
              policyItems: [{ groups: [s.analysts], accesses: [{ type: "select" }] }],
            },
          ],
        },
      }),
    );
    const refused = await gatehouse(["simulate", "--service", s.service, "--draft", broader]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain("NEW ACCESS");
    expect(refused.stdout).toMatch(new RegExp(`${s.alice}\\tcatalog=sales,schema=[^,]+,table=[^\\t]+\\tselect`));

    const narrower = join(dir, "narrower.json");
    await writeFile(narrower, JSON.stringify({ policies: { delete: [s.policy.id] } }));
    const passed = await gatehouse(["simulate", "--service", s.service, "--draft", narrower]);
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stdout).toContain("no new access");

    const bad = await gatehouse(["simulate", "--service", s.service, "--draft", join(dir, "missing.json")]);
    expect(bad.code).toBe(2);
  }, 300_000);
});
