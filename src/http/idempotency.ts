import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed } from "../errors.ts";
import type { Db } from "../storage/db.ts";

const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,255}$/;

declare module "fastify" {
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | null;
  }
}

/**
 * `Idempotency-Key` on POST: the first request with a key runs and its response is stored; a
 * retry with the same key and body gets the stored response (`Idempotent-Replayed: true`); the
 * same key with a different body is 422. Keys are per caller and kept for `retentionHours`.
 * Server errors are not stored, so a retry after a 5xx runs again.
 */
export function installIdempotency(app: FastifyInstance, db: Db): void {
  app.decorateRequest("idempotency", null);
  app.addHook("preHandler", async (request, reply) => {
    const key = request.headers["idempotency-key"];
    if (request.method !== "POST" || typeof key !== "string") return;
    if (!KEY_PATTERN.test(key)) {
      const message = "header.idempotency-key: must be 1 to 255 letters, digits or `_.:-`";
      throw ValidationFailed(message, { details: [{ field: "header.idempotency-key", rule: "pattern", message }] });
    }
    const principal = `${request.actor.type}:${request.actor.id ?? request.ip}`;
    const path = request.url;
    const bodyHash = createHash("sha256")
      .update(`${request.method} ${path}\n${JSON.stringify(request.body ?? null)}`)
      .digest("base64url");
    const inserted = await db.kysely
      .insertInto("idempotency_keys")
      .values({ principal, key, method: request.method, path, body_hash: bodyHash })
      .onConflict((oc) => oc.columns(["principal", "key"]).doNothing())
      .returning("key")
      .executeTakeFirst();
    if (inserted) {
      request.idempotency = { principal, key };
      return;
    }
    const stored = await db.kysely
      .selectFrom("idempotency_keys")
      .where("principal", "=", principal)
      .where("key", "=", key)
      .selectAll()
      .executeTakeFirstOrThrow();
    if (stored.body_hash !== bodyHash) {
      throw IdempotencyKeyReused(
        `header.idempotency-key: \`${key}\` was used with a different request; use a new key for a new request`,
      );
    }
    if (stored.status_code === null) {
      throw IdempotencyInProgress(`header.idempotency-key: the request with key \`${key}\` is still running`);
    }
    reply.header("idempotent-replayed", "true");
    if (stored.content_type) reply.header("content-type", stored.content_type);
    return reply.code(stored.status_code).send(stored.response_body ?? undefined);
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const slot = request.idempotency;
    if (!slot) return payload;
    request.idempotency = null;
    const where = db.kysely
      .updateTable("idempotency_keys")
      .where("principal", "=", slot.principal)
      .where("key", "=", slot.key);
    if (reply.statusCode >= 500 || (typeof payload !== "string" && payload !== null && payload !== undefined)) {
      await db.kysely
        .deleteFrom("idempotency_keys")
        .where("principal", "=", slot.principal)
        .where("key", "=", slot.key)
        .execute();
      return payload;
    }
    await where
      .set({
        status_code: reply.statusCode,
        response_body: (payload as string | null | undefined) ?? null,
        content_type: String(reply.getHeader("content-type") ?? ""),
      })
      .execute();
    return payload;
  });
}

/** Deletes idempotency records older than `hours`. */
export async function pruneIdempotencyKeys(db: Db, hours: number): Promise<void> {
  await db.kysely
    .deleteFrom("idempotency_keys")
    .where("created_at", "<", new Date(Date.now() - hours * 3_600_000))
    .execute();
}
