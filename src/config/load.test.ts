import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./load.ts";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ host: "127.0.0.1", port: 8080, dataDir: "./.gatehouse", logLevel: "info" });
    expect(config.databaseUrl).toBeUndefined();
  });

  it("reads environment variables and converts their types", () => {
    const config = loadConfig({
      env: { GATEHOUSE_PORT: "9090", GATEHOUSE_ROLE_MAPPING: '{"realm-admin":["gatehouse-admin"]}' },
    });
    expect(config.port).toBe(9090);
    expect(config.roleMapping).toEqual({ "realm-admin": ["gatehouse-admin"] });
  });

  it("gives flags precedence over the environment, and the environment over the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "gh-config-"));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ port: 7000, host: "0.0.0.0", logLevel: "debug" }));
    const config = loadConfig({ env: { GATEHOUSE_PORT: "7001" }, configFile: file, flags: { port: "7002" } });
    expect(config.port).toBe(7002);
    expect(config.host).toBe("0.0.0.0");
    expect(config.logLevel).toBe("debug");
  });

  it("is frozen", () => {
    const config = loadConfig({ env: { GATEHOUSE_ROLE_MAPPING: '{"a":["viewer"]}' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.roleMapping)).toBe(true);
  });

  it("names the setting and the rule of every invalid value", () => {
    let error: unknown;
    try {
      loadConfig({
        env: {
          GATEHOUSE_PORT: "70000",
          GATEHOUSE_DATABASE_URL: "mysql://x",
          GATEHOUSE_LOG_LEVEL: "loud",
          GATEHOUSE_PSK: "short",
        },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).issues.join("\n");
    expect(text).toMatch(/GATEHOUSE_PORT: must be <= 65535 \(got 70000\)/);
    expect(text).toMatch(/GATEHOUSE_DATABASE_URL: must match pattern/);
    expect(text).toMatch(/GATEHOUSE_LOG_LEVEL/);
    expect(text).toMatch(/GATEHOUSE_PSK: must .*16/);
  });

  it("requires an audience with an issuer", () => {
    expect(() => loadConfig({ env: { GATEHOUSE_OIDC_ISSUER: "http://127.0.0.1:1/realms/x" } })).toThrow(
      /GATEHOUSE_OIDC_AUDIENCE: must be set/,
    );
  });

  it("rejects malformed JSON settings and unknown keys in the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "gh-config-"));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ env: { GATEHOUSE_ROLE_MAPPING: "{" }, configFile: file })).toThrow(
      /GATEHOUSE_ROLE_MAPPING: must be a JSON object[\s\S]*prot: unknown setting/,
    );
  });
});
