import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { Forbidden, PreconditionFailed, ValidationFailed } from "../errors.ts";
import { scimFail } from "./errors.ts";
import { LIST_RESPONSE, MAX_RESULTS } from "./schemas.ts";

/** The media type of every SCIM answer (RFC 7644 §8.1). */
export const SCIM_CONTENT_TYPE = "application/scim+json; charset=utf-8";

/** The SCIM base URL as the client reached it (for `meta.location`). */
export function baseOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/scim/v2`;
}

/**
 * The organisation of the calling SCIM client. Only SCIM clients provision: another credential
 * (an administrator's key) is refused with 403, since SCIM writes are bound to one organisation.
 */
export function orgOf(request: FastifyRequest): string {
  if (request.actor.type !== "scim_client" || !request.actor.orgId) {
    throw Forbidden(
      "scim routes take a scim client token (`Authorization: Bearer ghs_...`, see POST /v1/scim-clients)",
    );
  }
  return request.actor.orgId;
}

/** Sends a SCIM body with its media type, and its version as `ETag` when it has one. */
export function sendScim(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  const version = (body.meta as { version?: string } | undefined)?.version;
  if (version) reply.header("etag", version);
  return reply.code(status).header("content-type", SCIM_CONTENT_TYPE).send(body);
}

/**
 * Refuses a write whose `If-Match` names another version than the current one (412), so a
 * client that read the resource before someone else changed it does not overwrite that change.
 * No header or `*` always matches.
 */
export function checkIfMatch(request: FastifyRequest, current: string): void {
  const header = request.headers["if-match"];
  if (typeof header !== "string" || header.trim() === "" || header.trim() === "*") return;
  const given = header.split(",").map((v) => v.trim());
  const bare = (v: string) => v.replace(/^W\//, "");
  if (!given.some((v) => bare(v) === bare(current))) {
    throw PreconditionFailed(`header.if-match: the resource is now at version ${current}`, {
      details: [{ field: "header.if-match", rule: "version", message: `the resource is now at version ${current}` }],
    });
  }
}

/** The query of SCIM list routes (RFC 7644 §3.4.2). */
export const ListQuery = Type.Object(
  {
    filter: Type.Optional(Type.String({ description: 'A SCIM filter, e.g. `userName eq "alice"`' })),
    startIndex: Type.Optional(Type.String({ description: "1-based index of the first result (default 1)" })),
    count: Type.Optional(Type.String({ description: `Results per page (default 100, at most ${MAX_RESULTS})` })),
    attributes: Type.Optional(Type.String({ description: "Comma-separated attributes to return" })),
    excludedAttributes: Type.Optional(Type.String({ description: "Comma-separated attributes to leave out" })),
    sortBy: Type.Optional(Type.String({ description: "Ignored: sorting is not supported (results are in id order)" })),
    sortOrder: Type.Optional(Type.String({ description: "Ignored" })),
  },
  { additionalProperties: true },
);

/** The query of SCIM single-resource routes. */
export const ResourceQuery = Type.Object(
  {
    attributes: Type.Optional(Type.String()),
    excludedAttributes: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** `{id}` of SCIM resource routes (any string: an unknown id is a SCIM 404). */
export const ScimIdParams = Type.Object({ id: Type.String() });

/** A SCIM JSON body: shapes are dynamic (extensions, providers' variants), read by the route. */
export const ScimBody = Type.Object(
  { schemas: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: true, description: "A SCIM resource or PatchOp (RFC 7643, RFC 7644)" },
);

function integer(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw scimFail(ValidationFailed, "invalidValue", field, "must be an integer");
  return Number(value);
}

/**
 * `startIndex` and `count` as an offset and a limit: below 1 means 1, and `count` is capped (RFC 7644
 * §3.4.2.4). A `startIndex` past any possible total is an empty page, so it is held below the
 * database's offset range (a 20-digit one was a bigint overflow, a 500: found by `npm run fuzz:http`).
 */
export function pagingOf(query: { startIndex?: string | undefined; count?: string | undefined }) {
  const startIndex = Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, integer(query.startIndex, "query.startIndex") ?? 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, integer(query.count, "query.count") ?? 100));
  return { startIndex, offset: startIndex - 1, count };
}

/** A ListResponse (RFC 7644 §3.4.2). */
export function listResponse(resources: Record<string, unknown>[], total: number, startIndex: number) {
  return {
    schemas: [LIST_RESPONSE],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
