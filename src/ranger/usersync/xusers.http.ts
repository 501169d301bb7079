import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { resolveOrgId } from "../../directory/org-scope.ts";
import type { Queryable } from "../../storage/db.ts";
import { rangerErrorShape } from "../admin/errors.ts";
import type { RangerPage } from "./xusers.model.ts";
import type { RangerGroupInput, RangerUserInput } from "./xusers.service.ts";

/** Every route of Ranger's user and group API lives under this prefix. */
export const XUSERS = "/service/xusers";

/** OpenAPI tag of these routes. */
export const tags = ["ranger-xusers"];

/** Route configs: reading needs `directory.read`, writing `directory.write`; errors in Ranger's shape. */
export const read = { ability: "directory.read", errorShape: rangerErrorShape } as const;
export const write = { ability: "directory.write", errorShape: rangerErrorShape } as const;

/** The largest Java int: Ranger parses ids and paging numbers as ints. */
const JAVA_INT_MAX = 2_147_483_647;

/** Path `{id}`: Ranger's numeric ids (Java longs; Gatehouse numbers with 32-bit integers). */
export const NumParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: JAVA_INT_MAX }) });

/** Ranger's paging parameters (`SearchUtil.extractCommonCriterias`); other parameters are filters. */
export const PageQuery = Type.Object(
  {
    // Java ints, as Ranger's SearchUtil parses them: a larger number is Ranger's 400, not a database overflow
    startIndex: Type.Optional(
      Type.Integer({ maximum: JAVA_INT_MAX, description: "First row (0-based); negative counts as 0" }),
    ),
    pageSize: Type.Optional(
      Type.Integer({
        maximum: JAVA_INT_MAX,
        description: `Rows per page (default ${200}, at most ${10_000}; below 1 = the default)`,
      }),
    ),
    sortBy: Type.Optional(Type.String({ maxLength: 64, description: "`name` (default) or `id`" })),
    sortType: Type.Optional(Type.String({ maxLength: 8, description: "`asc` (default) or `desc`" })),
  },
  { additionalProperties: true },
);

/** Ranger's `forceDelete` (any case of `true` forces; the Python client sends `True`/`False`). */
export const ForceQuery = Type.Object(
  { forceDelete: Type.Optional(Type.String({ maxLength: 16 })) },
  { additionalProperties: true },
);

/** Ranger's default page size (`ranger.db.maxrows.default`). */
const DEFAULT_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 10_000;

/** The page asked for, as Ranger reads it: bad numbers are 400s (schema), out-of-range ones clamp. */
export function pageOf(query: {
  startIndex?: number | undefined;
  pageSize?: number | undefined;
  sortBy?: string | undefined;
  sortType?: string | undefined;
}): RangerPage {
  const size = query.pageSize === undefined || query.pageSize < 1 ? DEFAULT_PAGE_SIZE : query.pageSize;
  return {
    startIndex: Math.max(0, query.startIndex ?? 0),
    pageSize: Math.min(size, MAX_PAGE_SIZE),
    sortBy: query.sortBy?.toLowerCase() === "id" ? "id" : "name",
    sortType: query.sortType?.toLowerCase() === "desc" ? "desc" : "asc",
  };
}

/** Ranger's forceDelete rule: `"true"` in any case. */
export function isForced(query: { forceDelete?: string | undefined }): boolean {
  return query.forceDelete?.trim().toLowerCase() === "true";
}

/** The organisation the caller works in (its own, else `default`): Ranger has one user namespace. */
export function orgOf(db: Queryable, request: FastifyRequest): Promise<string> {
  return resolveOrgId(db, request.actor, undefined);
}

/** Ranger's numbers may arrive as strings (usersync's `XUserInfo` has `"1"`); anything else is absent. */
export function intOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

/** A filter's text value, or undefined when absent or blank. */
export function textOf(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

function stringOrNull(value: unknown): string | null | undefined {
  if (value === null) return null;
  return typeof value === "string" ? value : undefined;
}

/** The fields of a Ranger `VXUser` body the API uses, with Ranger's number strings read as numbers. */
export function userInput(raw: unknown): RangerUserInput {
  const body = (raw ?? {}) as Record<string, unknown>;
  return {
    name: stringOrNull(body.name),
    firstName: stringOrNull(body.firstName),
    emailAddress: stringOrNull(body.emailAddress),
    status: intOf(body.status),
    isVisible: intOf(body.isVisible),
    otherAttributes: stringOrNull(body.otherAttributes),
  };
}

/** The fields of a Ranger `VXGroup` body the API uses. */
export function groupInput(raw: unknown): RangerGroupInput {
  const body = (raw ?? {}) as Record<string, unknown>;
  return {
    name: stringOrNull(body.name),
    description: stringOrNull(body.description),
    isVisible: intOf(body.isVisible),
    otherAttributes: stringOrNull(body.otherAttributes),
  };
}

/** A Ranger JSON object body (`VXUser`, `VXGroup`, `VXGroupUser`): checked field by field in code. */
export const AnyObject = (title: string) =>
  Type.Object({}, { title, additionalProperties: true, description: `Ranger's \`${title}\`` });

/** A Ranger JSON answer, described for the API reference (not checked on the way out). */
export const Answer = (title: string) => Type.Unknown({ description: `Ranger's \`${title}\`` });
