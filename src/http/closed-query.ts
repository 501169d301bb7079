type JsonSchema = Record<string, unknown>;

const isObjectSchema = (s: unknown): s is JsonSchema & { properties: Record<string, unknown> } =>
  typeof s === "object" && s !== null && (s as JsonSchema).type === "object" && "properties" in s;

/**
 * Closes a route's query-string schema, so that a misspelt or unsupported parameter is a 400 naming
 * it instead of being silently ignored (a filter that is ignored returns everything, which reads as
 * an answer). Intersections of plain objects (`Type.Intersect([PageQuery, ...])`) are merged into
 * one object, because `additionalProperties: false` on each member of an `allOf` would reject the
 * other members' parameters. Schemas of any other shape are returned unchanged.
 */
export function closedQuery(schema: unknown): unknown {
  if (isObjectSchema(schema))
    return schema.additionalProperties === undefined ? { ...schema, additionalProperties: false } : schema;
  const allOf = (schema as JsonSchema | undefined)?.allOf;
  if (!Array.isArray(allOf) || !allOf.every(isObjectSchema) || Object.keys(schema as JsonSchema).length !== 1)
    return schema;
  if (allOf.some((member) => member.additionalProperties !== undefined)) return schema;
  const properties: Record<string, unknown> = {};
  const patternProperties: Record<string, unknown> = {};
  const required = new Set<string>();
  const descriptions: string[] = [];
  for (const member of allOf) {
    Object.assign(properties, member.properties);
    Object.assign(patternProperties, member.patternProperties);
    for (const name of (member.required as string[] | undefined) ?? []) required.add(name);
    if (typeof member.description === "string") descriptions.push(member.description);
  }
  return {
    type: "object",
    properties,
    ...(Object.keys(patternProperties).length > 0 ? { patternProperties } : {}),
    ...(required.size > 0 ? { required: [...required] } : {}),
    ...(descriptions.length > 0 ? { description: descriptions.join(" ") } : {}),
    additionalProperties: false,
  };
}
