import { uniqueName } from "./factories.ts";
import type { TestApp } from "./test-app.ts";

/**
 * Creates a service account with the given built-in roles (in organisation `orgId` when given, so
 * its organisation-wide lists hold only what the test wrote) and returns Basic auth headers for it.
 */
export async function serviceAccountHeaders(
  t: TestApp,
  roles: string[],
  orgId?: string,
): Promise<Record<string, string>> {
  const res = await t.request({
    method: "POST",
    url: "/v1/service-accounts",
    payload: { name: uniqueName("sa"), roles, ...(orgId ? { orgId } : {}) },
  });
  if (res.statusCode !== 201) throw new Error(`service account creation failed: ${res.statusCode} ${res.body}`);
  const { clientId, clientSecret } = res.json() as { clientId: string; clientSecret: string };
  return { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` };
}
