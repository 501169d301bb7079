import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
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
  // Both hooks are callback-style so that the common request (no Idempotency-Key) passes without
  // a promise or a microtask; only keyed POSTs go to the database.
  app.addHook("preHandler", (request, reply, done) => {
    const key = request.headers["idempotency-key"];
    if (request.method !== "POST" || typeof key !== "string") return done();
    claim(db, request, reply, key).then((replayed) => {
      if (!replayed) done();
    }, done);
  });
  app.addHook("onSend", (request, reply, payload, done) => {
    const slot = request.idempotency;
    if (!slot) return done(null, payload);
    request.idempotency = null;
    settle(db, slot, reply, payload).then(
      () => done(null, payload),
      (err) => done(err),
    );
  });
}

/**
 * Records a new key for this request, or answers from the stored response of an earlier one.
 * Resolves true when the reply was sent here (a replay).
 */
async function claim(db: Db, request: FastifyRequest, reply: FastifyReply, key: string): Promise<boolean> {
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
    return false;
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
  reply.code(stored.status_code).send(stored.response_body ?? undefined);
  return true;
}

/** Stores the response of a keyed request, or drops the key after a server error. */
async function settle(
  db: Db,
  slot: { principal: string; key: string },
  reply: FastifyReply,
  payload: unknown,
): Promise<void> {
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
    return;
  }
  await where
    .set({
      status_code: reply.statusCode,
      response_body: (payload as string | null | undefined) ?? null,
      content_type: String(reply.getHeader("content-type") ?? ""),
    })
    .execute();
}

/** Deletes idempotency records older than `hours`. */
export async function pruneIdempotencyKeys(db: Db, hours: number): Promise<void> {
  await db.kysely
    .deleteFrom("idempotency_keys")
    .where("created_at", "<", new Date(Date.now() - hours * 3_600_000))
    .execute();
}
