import { configSchema } from "./schema.ts";

interface DocumentedSchema {
  env?: string;
  description?: string;
  default?: unknown;
  type?: string;
  anyOf?: { const?: unknown }[];
}

function typeOf(schema: DocumentedSchema): string {
  if (schema.anyOf) return schema.anyOf.map((s) => `\`${String(s.const)}\``).join(", ");
  return schema.type ?? "string";
}

/** Renders docs/config.md from the schema, so the reference can never disagree with the code. */
export function renderConfigDoc(): string {
  const required = new Set<string>(configSchema.required ?? []);
  const rows = Object.entries(configSchema.properties as Record<string, DocumentedSchema>).map(([key, schema]) => {
    const fallback =
      schema.default === undefined
        ? required.has(key)
          ? "required"
          : "unset"
        : `\`${JSON.stringify(schema.default)}\``;
    return `| \`${schema.env}\` | \`${key}\` | ${typeOf(schema)} | ${fallback} | ${schema.description ?? ""} |`;
  });
  return [
    "# Configuration",
    "",
    "<!-- generated from src/config/schema.ts by `npm run docs`; do not edit by hand -->",
    "",
    "Gatehouse reads its settings from, lowest precedence first: defaults, a JSON file given with",
    "`--config FILE` (keys as in the second column), environment variables, and command-line flags",
    "(`--host`, `--port`, `--data-dir`, `--database-url`, `--log-level`). The result is validated once at start and",
    "frozen. An invalid value stops the process with exit code 2 and a message naming the setting and the rule.",
    "",
    "| variable | file key | type | default | meaning |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}
