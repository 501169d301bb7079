import type { RangerAccessResource } from "../types.ts";

/**
 * Ranger's HBase resource (hbase-agent `RangerHBaseResource#setValue`): the HBase authorizer asks
 * the engine with every name a table in the `default` namespace goes by, so a policy on `finance`
 * covers `default:finance` and the other way round. A table named without a namespace becomes
 * `[t, "default:" + t, t + ":"]` (the last for a table value that names a namespace, RANGER-3918);
 * `default:t` becomes `["default:t", t]`; any other value (another namespace, a collection) is kept.
 * The engine itself never rewrites resources (nor does Ranger's); a host that authorizes HBase
 * requests applies this first, as Ranger's HBase plugin does.
 */

const KEY_TABLE = "table";
const NAMESPACE_SEPARATOR = ":";
const DEFAULT_NAMESPACE = `default${NAMESPACE_SEPARATOR}`;

/** The table value(s) Ranger's HBase plugin sends for `table`. */
export function hbaseTableValue(value: string | string[] | null | undefined): string | string[] | null | undefined {
  if (typeof value !== "string") return value;
  if (!value.includes(NAMESPACE_SEPARATOR)) return [value, DEFAULT_NAMESPACE + value, value + NAMESPACE_SEPARATOR];
  if (value.startsWith(DEFAULT_NAMESPACE)) return [value, value.slice(DEFAULT_NAMESPACE.length)];
  return value;
}

/** A copy of `resource` with its `table` element as Ranger's HBase plugin sends it. */
export function toHBaseResource(resource: RangerAccessResource): RangerAccessResource {
  if (!(KEY_TABLE in resource.elements)) return resource;
  return {
    ...resource,
    elements: { ...resource.elements, [KEY_TABLE]: hbaseTableValue(resource.elements[KEY_TABLE]) },
  };
}
