import { type TSchema, Type } from "typebox";
import { allErrors } from "../errors.ts";
import { TOTAL_BOUND } from "./totals.ts";

/** The one native error body. Its `code` enum is the whole catalogue (kept in step by a test). */
export const ErrorBody = Type.Object(
  {
    code: Type.Unsafe<string>({
      type: "string",
      enum: allErrors().map((e) => e.code),
      description: "Stable error code from the catalogue (docs/errors.md)",
    }),
    message: Type.String({ description: "What went wrong, naming the field and the rule" }),
    details: Type.Array(
      Type.Object({
        field: Type.String({ description: "Where: `body.name`, `query.limit`, ..." }),
        rule: Type.String({ description: "The rule that failed, e.g. `maxLength` or `unique`" }),
        message: Type.String(),
      }),
    ),
    meta: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: "Facts about the error, e.g. the conflicting id" }),
    ),
    requestId: Type.String({ description: "Echo of X-Request-Id; quote it when reporting a problem" }),
  },
  { $id: "Error", title: "Error" },
);

/** Query parameters shared by every list. */
export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: "Items per page (1 to 1000)" }),
  cursor: Type.Optional(Type.String({ maxLength: 2048, description: "Opaque cursor from the previous page" })),
});

/** Every list answers this shape: never truncated silently, always with the total. */
export function Page<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Union([Type.String(), Type.Null()], { description: "Cursor of the next page; null at the end" }),
      total: Type.Integer({ description: "Number of items matching the filters, across all pages" }),
    },
    { title },
  );
}

/**
 * The page of a list that takes `total=bounded` (http/totals.ts): `Page`, and `totalIsLowerBound`
 * on bounded answers. Only these lists advertise the field, since only they can answer it.
 */
export function BoundedTotalPage<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      ...Page(item, title).properties,
      total: Type.Integer({
        description: `Number of items matching the filters, across all pages; with \`total=bounded\`, at most ${TOTAL_BOUND} (see \`totalIsLowerBound\`)`,
      }),
      totalIsLowerBound: Type.Optional(
        Type.Boolean({
          description: `Only with \`total=bounded\`: true when more than \`total\` (${TOTAL_BOUND}) items match, false when \`total\` is exact`,
        }),
      ),
    },
    { title },
  );
}

/** Path parameter `id` as a UUID. */
export const IdParams = Type.Object({ id: Type.String({ format: "uuid" }) });
