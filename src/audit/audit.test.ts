import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../test/support/credentials.ts";
import { buildUser } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { recordAudit, SYSTEM_CONTEXT } from "./audit.service.ts";
import { pruneAuditEvents } from "./audit.store.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.app.close());

describe("audit trail", () => {
  it("records actor, action, target, after state, request id and client address of a write", async () => {
    const user = await buildUser(t.db);
    const res = await t.request({
      method: "POST",
      url: "/v1/api-keys",
      headers: { "x-request-id": "req-audit-1" },
      payload: { userId: user.id, name: "audited" },
      remoteAddress: "10.3.0.9",
    });
    const id = res.json().id;
    const events = await t.request({ method: "GET", url: `/v1/audit/events?targetType=api_key&targetId=${id}` });
    expect(events.json()).toMatchObject({
      total: 1,
      items: [
        {
          action: "api_key.created",
          actor: { type: "psk", id: "psk", name: "psk", authMethod: "general_psk" },
          target: { type: "api_key", id },
          before: null,
          after: { id, name: "audited", userId: user.id },
          requestId: "req-audit-1",
          clientIp: "10.3.0.9",
        },
      ],
    });
    expect(JSON.stringify(events.json())).not.toContain(res.json().key);
  });

  it("rolls back the event with the change: a failed write leaves neither", async () => {
    const marker = `rollback-${Date.now()}`;
    await expect(
      t.db.transaction(async (tx) => {
        await recordAudit(tx, SYSTEM_CONTEXT, { action: "test.rolled_back", targetType: "test", targetId: marker });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    const events = await t.request({ method: "GET", url: `/v1/audit/events?targetId=${marker}` });
    expect(events.json().total).toBe(0);
  });

  it("filters by actor, action prefix and time range", async () => {
    const headers = await serviceAccountHeaders(t, ["gatehouse-admin"]);
    const who = (await t.request({ method: "GET", url: "/v1/whoami", headers })).json();
    const user = await buildUser(t.db);
    const before = new Date().toISOString();
    await t.request({ method: "POST", url: "/v1/api-keys", headers, payload: { userId: user.id, name: "by-sa" } });
    const byActor = await t.request({ method: "GET", url: `/v1/audit/events?actor=${who.actor.id}&action=api_key.*` });
    expect(byActor.json().total).toBe(1);
    const later = await t.request({
      method: "GET",
      url: `/v1/audit/events?actor=${who.actor.id}&from=${encodeURIComponent(before)}`,
    });
    expect(later.json().items.map((e: { action: string }) => e.action)).toEqual(["api_key.created"]);
    const none = await t.request({
      method: "GET",
      url: `/v1/audit/events?actor=${who.actor.id}&to=${encodeURIComponent(before)}`,
    });
    expect(none.json().items.map((e: { action: string }) => e.action)).toEqual([]);
  });

  it("is readable by auditors and not by viewers", async () => {
    const auditor = await serviceAccountHeaders(t, ["auditor"]);
    const viewer = await serviceAccountHeaders(t, ["viewer"]);
    expect((await t.request({ method: "GET", url: "/v1/audit/events", headers: auditor })).statusCode).toBe(200);
    expect((await t.request({ method: "GET", url: "/v1/audit/events", headers: viewer })).statusCode).toBe(403);
  });

  it("prunes events past the retention period", async () => {
    const marker = `old-${Date.now()}`;
    await t.db.transaction((tx) =>
      recordAudit(tx, SYSTEM_CONTEXT, { action: "test.old", targetType: "test", targetId: marker }),
    );
    await t.db.kysely
      .updateTable("audit_events")
      .set({ occurred_at: new Date(Date.now() - 400 * 86_400_000) } as never)
      .where("target_id", "=", marker)
      .execute();
    expect(await pruneAuditEvents(t.db.kysely, 365)).toBeGreaterThanOrEqual(1);
    const events = await t.request({ method: "GET", url: `/v1/audit/events?targetId=${marker}` });
    expect(events.json().total).toBe(0);
  });
});
