import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { testApp } from "../test/support/test-app.ts";
import { renderConfigDoc } from "./config/docs.ts";
import { allErrors } from "./errors.ts";
import { renderErrorsDoc } from "./errors-doc.ts";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

describe("generated documents", () => {
  it("docs/config.md matches the config schema (run `npm run docs` after changing it)", () => {
    expect(read("docs/config.md")).toBe(renderConfigDoc());
  });

  it("docs/errors.md matches the error catalogue (run `npm run docs` after changing it)", () => {
    expect(read("docs/errors.md")).toBe(renderErrorsDoc());
  });
});

describe("error catalogue", () => {
  it("has unique codes in SCREAMING_SNAKE_CASE with statuses of errors", () => {
    const codes = allErrors().map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of allErrors()) {
      expect(e.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
    }
  });

  it("is exactly the OpenAPI document's error code enum", async () => {
    const t = await testApp();
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      components: { schemas: Record<string, { properties: { code: { enum?: string[] } } }> };
    };
    const schema = doc.components.schemas.Error;
    expect(schema).toBeDefined();
    const enumCodes = [...(schema?.properties.code.enum ?? [])].sort();
    expect(enumCodes).toEqual(
      allErrors()
        .map((e) => e.code)
        .sort(),
    );
    await t.app.close();
  });
});
