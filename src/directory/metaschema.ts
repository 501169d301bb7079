import type { ValidateFunction } from "ajv";
import * as ajv2020 from "ajv/dist/2020.js";
import * as ajvFormats from "ajv-formats";
import { MetadataInvalid, MetaschemaInvalid } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";

/**
 * The group metaschema every organisation starts with (Frontier's default): `labels` is a map of
 * strings, `description` a string, anything else is allowed.
 */
export const DEFAULT_GROUP_METASCHEMA: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: {
    labels: { type: "object", additionalProperties: { type: "string" } },
    description: { type: "string" },
  },
  additionalProperties: true,
};

// ajv's CJS default export needs unwrapping under Node's ESM loader.
const AjvClass = ajv2020.Ajv2020;
const formats = ajvFormats.default as unknown as (ajv: InstanceType<typeof AjvClass>) => void;
const ajv = new AjvClass({ allErrors: true, strict: false });
formats(ajv);

/** Compiled validators by schema text: compiling is slow, metaschemas change rarely. */
const compiled = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  const validate = ajv.compile(schema);
  if (compiled.size > 500) compiled.clear();
  compiled.set(key, validate);
  return validate;
}

/**
 * Checks that `schema` is a usable JSON Schema (2020-12) before it is stored.
 *
 * @throws METASCHEMA_INVALID naming what ajv refused.
 */
export function checkMetaschema(schema: Record<string, unknown>): void {
  try {
    compile(schema);
  } catch (err) {
    const message = `body.schema: is not a valid json schema (2020-12): ${(err as Error).message}`;
    throw MetaschemaInvalid(message, { details: [{ field: "body.schema", rule: "metaschema", message }] });
  }
}

/** The organisation's group metaschema, or the default when it has none. */
export async function groupMetaschemaOf(db: Queryable, orgId: string): Promise<Record<string, unknown>> {
  const row = await db
    .selectFrom("metaschemas")
    .where("org_id", "=", orgId)
    .where("kind", "=", "group")
    .select("schema")
    .executeTakeFirst();
  return row?.schema ?? DEFAULT_GROUP_METASCHEMA;
}

/**
 * Validates group metadata against the organisation's metaschema.
 *
 * @throws METADATA_INVALID (422) with one detail per violation, each naming the path inside
 * metadata (`body.metadata.labels.team`) and the JSON-Schema keyword that failed.
 */
export async function checkGroupMetadata(db: Queryable, orgId: string, metadata: Record<string, unknown>) {
  checkMetadataWith(await groupMetaschemaOf(db, orgId), metadata);
}

/** Validates metadata against a metaschema already read (null = the default); see `checkGroupMetadata`. */
export function checkMetadataWith(schema: Record<string, unknown> | null, metadata: Record<string, unknown>): void {
  const validate = compile(schema ?? DEFAULT_GROUP_METASCHEMA);
  if (validate(metadata)) return;
  const details = (validate.errors ?? []).map((e) => {
    let field = `body.metadata${e.instancePath.replaceAll("/", ".")}`;
    if (e.keyword === "required") field += `.${String(e.params.missingProperty)}`;
    if (e.keyword === "additionalProperties") field += `.${String(e.params.additionalProperty)}`;
    return { field, rule: e.keyword, message: `${field}: ${e.message ?? `fails ${e.keyword}`}` };
  });
  throw MetadataInvalid(details.map((d) => d.message).join("; "), { details });
}
