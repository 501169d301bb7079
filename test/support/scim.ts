import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { uniqueName } from "./factories.ts";
import type { TestApp } from "./test-app.ts";

/** A SCIM client of `orgId` (default: the default organisation) and a caller that speaks SCIM with its token. */
export async function scimClient(t: TestApp, orgId?: string) {
  const created = await t.request({
    method: "POST",
    url: "/v1/scim-clients",
    payload: { name: uniqueName("idp"), ...(orgId ? { orgId } : {}) },
  });
  expect(created.statusCode).toBe(201);
  const client = created.json() as { id: string; orgId: string; token: string };
  const call = (
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: {
        authorization: `Bearer ${client.token}`,
        ...(body !== undefined ? { "content-type": "application/scim+json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  return { ...client, call };
}

/** `filter=...` encoded for a URL. */
export function filterQuery(filter: string): string {
  return `filter=${encodeURIComponent(filter)}`;
}
