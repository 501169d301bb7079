import { expect } from "vitest";
import { uniqueName } from "./factories.ts";
import type { TestApp } from "./test-app.ts";

/** Creates a group over HTTP (general PSK) and returns its body; fails the test on a non-201. */
export async function createGroupVia(t: TestApp, payload: Record<string, unknown> = {}) {
  const res = await t.request({ method: "POST", url: "/v1/groups", payload: { name: uniqueName("g"), ...payload } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string; orgId: string; parentId: string | null };
}

/** Creates a user over HTTP (general PSK) and returns its body. */
export async function createUserVia(t: TestApp, payload: Record<string, unknown> = {}) {
  const res = await t.request({ method: "POST", url: "/v1/users", payload: { username: uniqueName("u"), ...payload } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; username: string; orgId: string };
}

/** Creates an organisation over HTTP and returns its body. */
export async function createOrgVia(t: TestApp, payload: Record<string, unknown> = {}) {
  const res = await t.request({ method: "POST", url: "/v1/orgs", payload: { name: uniqueName("org"), ...payload } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
}
