import { expect } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import type { TestApp } from "../../test/support/test-app.ts";
import { seedService } from "../decisions/test-seed.ts";

/**
 * A service (from `seedService`: analysts may select sales.<schema>.*) linked to its own tag
 * service, a `PII`-like tag type, and a tag policy denying `trino:select` on that tag to the
 * analysts. Nothing is tagged yet, so alice (an analyst) may still select.
 */
export async function seedTaggedService(app: TestApp) {
  const s = await seedService(app);
  const tagService = uniqueName("tagsvc");
  const pii = uniqueName("PII");
  const ok = async (method: "POST" | "PATCH", url: string, payload: Record<string, unknown>) => {
    const res = await app.request({ method, url, payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  await ok("POST", "/v1/services", { name: tagService, type: "tag" });
  await ok("PATCH", `/v1/services/${s.service}`, { tagService });
  await ok("POST", "/v1/tag-defs", { name: pii, attributeDefs: [{ name: "level", type: "string" }] });
  const tagPolicy = await ok("POST", `/v1/services/${tagService}/policies`, {
    name: uniqueName("deny-pii"),
    resources: { tag: { values: [pii] } },
    denyPolicyItems: [{ groups: [s.analysts], accesses: [{ type: "trino:select" }] }],
  });
  /** alice's decision on `sales.<schema>.<table>`. */
  const decide = async (table: string, user = s.alice, service = s.service) => {
    const res = await app.request({
      method: "POST",
      url: "/v1/decisions",
      payload: { service, user, resource: { catalog: "sales", schema: s.schema, table }, accessType: "select" },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { allowed: boolean; policyId: number; servicePolicyVersion: number };
  };
  /** Elements of `sales.<schema>.<table>`. */
  const table = (name: string) => ({
    catalog: { values: ["sales"] },
    schema: { values: [s.schema] },
    table: { values: [name] },
  });
  return { ...s, tagService, pii, tagPolicy, decide, table };
}
