/**
 * Raised when configuration is invalid; the CLI prints every issue and exits with code 2. It lives
 * apart from the loader so the CLI can recognise it without loading the config schema.
 */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}
