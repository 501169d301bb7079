import { expect } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import type { TestApp } from "../../test/support/test-app.ts";

/** Headers of a caller (its Authorization-PSK). */
export type Caller = Record<string, string>;

/** A request as the general PSK (full administrator) that must succeed; the JSON answer or null. */
export async function asAdministrator(
  t: TestApp,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  url: string,
  payload?: unknown,
) {
  const res = await t.request({ method, url, payload: payload as never });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.statusCode === 204 ? null : res.json();
}

/** A new directory user without any built-in role, with an API key: its id, username and headers. */
export async function userWithKey(t: TestApp): Promise<{ id: string; username: string; headers: Caller }> {
  const username = uniqueName("u");
  const user = await asAdministrator(t, "POST", "/v1/users", { username });
  const key = await asAdministrator(t, "POST", "/v1/api-keys", { userId: user.id, name: "zone-test" });
  return { id: user.id as string, username, headers: { "authorization-psk": key.key as string } };
}

/** A request as `who` (JSON body when `payload` is given). */
export function callAs(
  t: TestApp,
  who: Caller,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  url: string,
  payload?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers: payload === undefined ? who : { ...who, "content-type": "application/json" },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

/** A trino policy on `<catalog>.<fresh schema>.*` in `zone` ("" = the default zone). */
export function policyIn(zone: string, catalog: string, user = "someone") {
  return {
    name: uniqueName("p"),
    ...(zone ? { zoneName: zone } : {}),
    resources: {
      catalog: { values: [catalog] },
      schema: { values: [uniqueName("sch")] },
      table: { values: ["*"] },
    },
    policyItems: [{ users: [user], accesses: [{ type: "select" }] }],
  };
}
