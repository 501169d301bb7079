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

/**
 * Environment variables the code reads directly rather than through the settings schema: the
 * server's secret (kept out of config files on purpose) and the client commands' connection.
 * `test/docs/docs-references.test.ts` fails when src reads a GATEHOUSE_* variable missing here.
 */
const OTHER_VARIABLES: [string, string, string][] = [
  [
    "GATEHOUSE_SECRET_KEY",
    "the server",
    "Secret that encrypts stored identity-source bind credentials (any string; its SHA-256 is the key). Keep it outside the database and set the same value on every server. When unset, a random key is generated once and kept in the database's settings table, which still keeps credentials out of a dump of the sources table alone. Changing it makes stored bind credentials unreadable: set them again.",
  ],
  [
    "GATEHOUSE_SERVER",
    "`gatehouse check`, `gatehouse who`",
    "URL of the server the client commands ask (`--server`); default `http://127.0.0.1:8080`.",
  ],
  [
    "GATEHOUSE_PSK",
    "`gatehouse check`, `gatehouse who`",
    "The general pre-shared key the client commands send (`--psk`); the same variable also sets the server's general PSK (above).",
  ],
  [
    "GATEHOUSE_API_KEY",
    "`gatehouse check`, `gatehouse who`",
    "A user's API key the client commands send instead of the PSK (`--api-key`); it wins over GATEHOUSE_PSK.",
  ],
];

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
    "## Read outside the settings above",
    "",
    "| variable | read by | meaning |",
    "|---|---|---|",
    ...OTHER_VARIABLES.map(([name, by, meaning]) => `| \`${name}\` | ${by} | ${meaning} |`),
    "",
  ].join("\n");
}
