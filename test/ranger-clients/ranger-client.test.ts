import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../support/factories.ts";
import { type ClientCallResult, runRangerDriver } from "../support/ranger-python.ts";
import { type TestApp, testApp } from "../support/test-app.ts";

const COMPAT_DOC = join(import.meta.dirname, "../../docs/compat.md");

/**
 * The RangerClient methods docs/compat.md's "RangerClient methods" table marks `served` and
 * `not served (501)`: the first column holds the method name in backticks, the third the status.
 */
function documentedMethods(): { served: string[]; notServed: string[] } {
  const text = readFileSync(COMPAT_DOC, "utf8");
  const start = text.indexOf("### RangerClient methods");
  if (start < 0) throw new Error("docs/compat.md has no `### RangerClient methods` section");
  const section = text.slice(start).split("\n").slice(1);
  const end = section.findIndex((line) => line.startsWith("#"));
  const served: string[] = [];
  const notServed: string[] = [];
  for (const line of end < 0 ? section : section.slice(0, end)) {
    const cells = line.split("|").map((c) => c.trim());
    const method = /^`([a-z_0-9]+)`$/.exec(cells[1] ?? "")?.[1];
    if (!method) continue;
    if (cells[3] === "served") served.push(method);
    else if (cells[3] === "not served (501)") notServed.push(method);
    else throw new Error(`docs/compat.md: ${method} has status \`${cells[3]}\``);
  }
  return { served: served.sort(), notServed: notServed.sort() };
}

describe("Apache Ranger's own Python client (RangerClient) against Gatehouse", () => {
  let t: TestApp;
  let url: string;
  let auth: { user: string; password: string };

  beforeAll(async () => {
    t = await testApp();
    url = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const res = await t.request({
      method: "POST",
      url: "/v1/service-accounts",
      payload: { name: uniqueName("ranger-client"), roles: ["gatehouse-admin"] },
    });
    expect(res.statusCode).toBe(201);
    const { clientId, clientSecret } = res.json() as { clientId: string; clientSecret: string };
    auth = { user: clientId, password: clientSecret };
  });
  afterAll(async () => {
    await t?.app.close();
  });

  it("serves every method docs/compat.md marks served, and answers 501 for the others", async () => {
    const { results, exitCode, log } = await runRangerDriver("ranger_client.py", url, auth);
    const failed = results.filter((r: ClientCallResult) => !r.ok);
    expect(failed, log).toEqual([]);
    expect(exitCode, log).toBe(0);

    const reported = results.map((r) => r.method);
    const served = reported.filter((m) => !m.startsWith("501:")).sort();
    const notServed = reported
      .filter((m) => m.startsWith("501:"))
      .map((m) => m.slice(4))
      .sort();
    const doc = documentedMethods();
    expect(served).toEqual(doc.served);
    expect(notServed).toEqual(doc.notServed);
  });

  it("lists every public RangerClient method in docs/compat.md once", async () => {
    const { results, exitCode, log } = await runRangerDriver("list_methods.py", url, auth);
    expect(exitCode, log).toBe(0);
    const doc = documentedMethods();
    const documented = [...doc.served, ...doc.notServed].sort();
    expect(new Set(documented).size).toBe(documented.length);
    expect(documented).toEqual(results.map((r) => r.method).sort());
  });
});
