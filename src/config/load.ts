import { readFileSync } from "node:fs";
import { Compile } from "typebox/compile";
import { Value } from "typebox/value";
import { parseDelegation } from "../ranger/pdp/delegation.ts";
import { ConfigError } from "./config-error.ts";
import { parseNetworks } from "./networks.ts";
import { type Config, configSchema } from "./schema.ts";

export { ConfigError };

/** Where each value may come from, lowest precedence first: file < environment < flags. */
export interface ConfigSources {
  env?: Record<string, string | undefined>;
  /** Path of an optional JSON file whose keys are the schema's keys (camelCase). */
  configFile?: string;
  /** Values from CLI flags, already keyed like the schema. */
  flags?: Record<string, unknown>;
}

type KeySchema = { env?: string; type?: string };

const validator = Compile(configSchema);
const properties = configSchema.properties as Record<string, KeySchema>;

/** The environment variable that sets each key, for messages and docs. */
export function envNameOf(key: string): string {
  return properties[key]?.env ?? key;
}

function fromEnvironment(env: Record<string, string | undefined>, issues: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(properties)) {
    const raw = schema.env ? env[schema.env] : undefined;
    if (raw === undefined || raw === "") continue;
    if (schema.type === "object") {
      try {
        values[key] = JSON.parse(raw);
      } catch {
        issues.push(`${schema.env}: must be a JSON object`);
      }
    } else {
      values[key] = raw;
    }
  }
  return values;
}

function fromFile(path: string, issues: string[]): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      issues.push(`--config ${path}: must contain a JSON object`);
      return {};
    }
    return parsed as Record<string, unknown>;
  } catch (err) {
    issues.push(`--config ${path}: ${(err as Error).message}`);
    return {};
  }
}

/**
 * Builds the configuration from defaults, an optional file, the environment and flags, validates
 * it against the one schema and freezes it. Every invalid value is reported with the setting's
 * environment variable name and the rule it breaks, so an operator can fix it without reading code.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const issues: string[] = [];
  const merged: Record<string, unknown> = {
    ...(sources.configFile ? fromFile(sources.configFile, issues) : {}),
    ...fromEnvironment(sources.env ?? {}, issues),
  };
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value !== undefined) merged[key] = value;
  }
  const candidate = Value.Convert(configSchema, Value.Default(configSchema, merged));
  for (const error of validator.Errors(candidate)) {
    if (error.keyword === "boolean") continue; // reported again, better, by additionalProperties
    const key = error.instancePath.split("/")[1];
    if (error.keyword === "additionalProperties") {
      const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? [];
      for (const name of extra) issues.push(`${name}: unknown setting`);
      continue;
    }
    const value = key ? (candidate as Record<string, unknown>)[key] : undefined;
    issues.push(`${key ? envNameOf(key) : "config"}: ${error.message} (got ${JSON.stringify(value)})`);
  }
  const config = candidate as Config;
  if (config.oidcIssuer && !config.oidcAudience) {
    issues.push("GATEHOUSE_OIDC_AUDIENCE: must be set when GATEHOUSE_OIDC_ISSUER is set");
  }
  if (config.consoleOidcClientId && !config.oidcIssuer) {
    issues.push("GATEHOUSE_OIDC_ISSUER: must be set when GATEHOUSE_CONSOLE_OIDC_CLIENT_ID is set");
  }
  if (!config.consoleOidcScopes.split(/\s+/).includes("openid")) {
    issues.push("GATEHOUSE_CONSOLE_OIDC_SCOPES: must include `openid`");
  }
  if (config.kerberosKeytab && !config.kerberosRealm) {
    issues.push("GATEHOUSE_KERBEROS_REALM: must be set when GATEHOUSE_KERBEROS_KEYTAB is set");
  }
  for (const problem of parseNetworks(config.pluginDownloadNetworks).problems) {
    issues.push(`GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS: ${problem}`);
  }
  for (const problem of parseNetworks(config.rangerPdpTrustedNetworks).problems) {
    issues.push(`GATEHOUSE_RANGER_PDP_TRUSTED_NETWORKS: ${problem}`);
  }
  if (config.rangerPdpUserHeader && !config.rangerPdpTrustedNetworks) {
    issues.push("GATEHOUSE_RANGER_PDP_TRUSTED_NETWORKS: must be set when GATEHOUSE_RANGER_PDP_USER_HEADER is set");
  }
  for (const problem of parseDelegation(config.rangerPdpDelegationUsers).problems) {
    issues.push(`GATEHOUSE_RANGER_PDP_DELEGATION_USERS: ${problem}`);
  }
  for (const problem of parseNetworks(config.trustedProxies).problems) {
    issues.push(`GATEHOUSE_TRUSTED_PROXIES: ${problem}`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
