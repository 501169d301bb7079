import { expect } from "vitest";
import type { TestApp } from "./test-app.ts";

/** An API call that must succeed (2xx); its JSON body, or null when empty. */
export async function ok(
  t: TestApp,
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
  url: string,
  payload?: unknown,
) {
  const res = await t.request({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.body ? res.json() : null;
}

/** Waits until nothing is queued for the connector (its worker runs in the app) and answers its status. */
export async function drained(t: TestApp, connector: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await ok(t, "GET", `/v1/connectors/${connector}/status`);
    if (status.pending === 0) return status;
    if (Date.now() > deadline) throw new Error(`still pending: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
