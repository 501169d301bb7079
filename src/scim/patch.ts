import { type ScimPatchOperation, scimPatch } from "scim-patch";
import { ValidationFailed } from "../errors.ts";
import { scimFail } from "./errors.ts";
import { PATCH_OP } from "./schemas.ts";

/** One PATCH operation as sent, before the tolerance below. */
export interface PatchOperation {
  op: "add" | "replace" | "remove";
  path?: string;
  value?: unknown;
}

const OPS = new Set(["add", "replace", "remove"]);

/**
 * Reads a PatchOp body (RFC 7644 §3.5.2) with the tolerance real providers need: `op` in any case
 * (Entra ID sends `Replace`, `Add`, `Remove`), a path-less `replace`/`add` whose value keys are
 * paths (`{"name.givenName": "x"}`, Entra ID) split into one operation per key.
 *
 * @throws VALIDATION_FAILED: invalidSyntax for a body that is no PatchOp, noTarget for a remove without path.
 */
export function patchOperationsOf(body: unknown): PatchOperation[] {
  if (typeof body !== "object" || body === null) {
    throw scimFail(ValidationFailed, "invalidSyntax", "body", "must be a PatchOp object");
  }
  const input = body as Record<string, unknown>;
  const schemas = input.schemas;
  if (Array.isArray(schemas) && !schemas.includes(PATCH_OP)) {
    throw scimFail(ValidationFailed, "invalidSyntax", "body.schemas", `must contain \`${PATCH_OP}\``);
  }
  const key = Object.keys(input).find((k) => k.toLowerCase() === "operations");
  const operations = key === undefined ? undefined : input[key];
  if (!Array.isArray(operations) || operations.length === 0) {
    throw scimFail(ValidationFailed, "invalidSyntax", "body.Operations", "must be a non-empty array of operations");
  }
  const out: PatchOperation[] = [];
  for (const [i, raw] of operations.entries()) {
    const field = `body.Operations[${i}]`;
    if (typeof raw !== "object" || raw === null) {
      throw scimFail(ValidationFailed, "invalidSyntax", field, "must be an operation object");
    }
    const entry = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v])) as Record<
      string,
      unknown
    >;
    const op = typeof entry.op === "string" ? entry.op.toLowerCase() : "";
    if (!OPS.has(op)) {
      throw scimFail(ValidationFailed, "invalidSyntax", `${field}.op`, "must be `add`, `replace` or `remove`");
    }
    const path = entry.path;
    if (path !== undefined && (typeof path !== "string" || path.trim() === "")) {
      throw scimFail(ValidationFailed, "invalidPath", `${field}.path`, "must be a non-empty attribute path");
    }
    if (op === "remove" && path === undefined) {
      throw scimFail(ValidationFailed, "noTarget", `${field}.path`, "is required for `remove`");
    }
    const value = entry.value;
    if (op !== "remove" && path === undefined) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw scimFail(ValidationFailed, "invalidValue", `${field}.value`, "must be an object when `path` is absent");
      }
      // one operation per key, so `{"name.givenName": "x"}` sets a sub-attribute, not a key with a dot
      for (const [k, v] of Object.entries(value)) out.push({ op: op as "add" | "replace", path: k, value: v });
      continue;
    }
    out.push({ op: op as PatchOperation["op"], ...(typeof path === "string" ? { path: path.trim() } : {}), value });
  }
  return out;
}

/**
 * Applies operations to a SCIM resource with `scim-patch` (RFC 7644 §3.5.2 semantics: value
 * filters, multi-valued adds and removes by value), returning a new resource. A replace on a
 * missing filter target adds it (Okta and Entra ID expect that).
 *
 * @throws VALIDATION_FAILED with the library's scimType (invalidPath, noTarget, invalidValue, ...).
 */
export function applyPatch<T extends Record<string, unknown>>(resource: T, operations: PatchOperation[]): T {
  try {
    const doc = structuredClone({ ...resource, meta: resource.meta ?? {} }) as never;
    return scimPatch(doc, operations as ScimPatchOperation[], { mutateDocument: true, treatMissingAsAdd: true }) as T;
  } catch (err) {
    const scimCode = (err as { scimCode?: string }).scimCode;
    const scimType =
      scimCode === "noTarget" || scimCode === "invalidPath" || scimCode === "invalidValue" || scimCode === "mutability"
        ? scimCode
        : "invalidSyntax";
    throw scimFail(ValidationFailed, scimType, "body.Operations", (err as Error).message);
  }
}
