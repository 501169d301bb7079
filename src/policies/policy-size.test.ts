import { beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { MAX_POLICY_BYTES } from "./policies.store.ts";

let t: TestApp;
let service: string;

/** A trino policy whose catalog values make it about `bytes` of JSON. */
function policyOf(name: string, bytes: number) {
  const values = Array.from({ length: Math.ceil(bytes / 16) }, (_, i) => `t${String(i).padStart(12, "0")}`);
  return {
    name,
    resources: { catalog: { values } },
    policyItems: [{ users: ["alice"], accesses: [{ type: "select" }] }],
  };
}

beforeAll(async () => {
  t = await testApp();
  service = uniqueName("svc");
  const res = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } });
  expect(res.statusCode).toBe(201);
});

// Issue #13 item 11: one huge policy grew the embedded database's WebAssembly memory for good.
describe(`policy size cap (${TEST_BACKEND})`, () => {
  it("refuses a policy above MAX_POLICY_BYTES in an import, naming it and the rule, without touching the database", async () => {
    const memoryBefore = t.db.embeddedMemoryBytes?.();
    const res = await t.request({
      method: "POST",
      url: `/v1/services/${service}/import`,
      payload: { policies: [policyOf("fits", 1000), policyOf("huge", MAX_POLICY_BYTES + 64 * 1024)] },
    });
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain("huge");
    expect(res.body).toContain(String(MAX_POLICY_BYTES));
    expect(t.db.embeddedMemoryBytes?.()).toBe(memoryBefore);
    // all or nothing: the small one was not written either
    const list = await t.request({ method: "GET", url: `/v1/services/${service}/policies` });
    expect(list.json().total).toBe(0);
  });

  it("accepts a policy just under the cap", async () => {
    const res = await t.request({
      method: "POST",
      url: `/v1/services/${service}/import`,
      payload: { policies: [policyOf("big-but-fine", MAX_POLICY_BYTES - 64 * 1024)] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ applied: true, created: ["big-but-fine"] });
  });

  it("exports the embedded database's WebAssembly memory as a gauge (embedded only)", async () => {
    const text = (await t.request({ method: "GET", url: "/metrics" })).body;
    const line = text.match(/^gatehouse_embedded_db_memory_bytes (\d+)$/m);
    if (t.db.kind === "embedded") expect(Number(line?.[1])).toBe(t.db.embeddedMemoryBytes?.());
    else expect(line).toBeNull();
  });
});
