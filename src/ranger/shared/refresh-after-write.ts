import type { FastifyInstance } from "fastify";

/**
 * Catches this process's engines up after each successful write under `/service/...`, before the
 * answer leaves. The decision domain leaves those paths alone (plugin downloads live there), so the
 * Ranger APIs that write (admin REST, xusers) ask for the catch-up themselves: a decision that
 * follows sees the write. A failed catch-up is only logged: the write committed, and notifications
 * and the safety poll bring the engines up to date.
 */
export function refreshEnginesAfterWrites(app: FastifyInstance, api: string): void {
  app.addHook("onSend", async (request, reply, payload) => {
    if (request.method === "GET" || request.method === "HEAD" || reply.statusCode >= 400) return payload;
    try {
      await app.decisions.afterLocalWrite();
    } catch (err) {
      request.log.warn({ err }, `engines not refreshed after a ${api} write`);
    }
    return payload;
  });
}
