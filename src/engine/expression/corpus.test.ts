// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${{…}}` is Ranger's request-expression syntax
/**
 * Every script condition and `${{…}}` expression in Ranger's shared conformance corpus must
 * compile, and the ones whose outcome the corpus depends on must give Ranger's results.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { compileExpression, compileTemplate, type ExpressionEnv, evaluateCondition, resolveTemplate } from "./index.ts";

const ROOT = join(import.meta.dirname, "../../../../shared/conformance/ranger");

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? jsonFiles(p) : f.endsWith(".json") ? [p] : [];
  });
}

function load(path: string): unknown {
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    // resource-matcher files carry `#` comments (Gson lenient parsing)
    return JSON.parse(
      text
        .split("\n")
        .map((l) => l.replace(/(^|\s)#[^"]*$/, ""))
        .join("\n"),
    );
  }
}

interface Found {
  scripts: Map<string, string>; // script → first file
  templates: Map<string, string>;
}

const SCRIPT_EVALUATOR = /RangerScript(Template)?ConditionEvaluator$/;

function collect(): Found {
  const found: Found = { scripts: new Map(), templates: new Map() };
  for (const file of jsonFiles(ROOT)) {
    const doc = load(file);
    const where = relative(ROOT, file);
    // condition types backed by a script evaluator, per file (service-defs live in the same file)
    const scriptTypes = new Set(["_expression", "expression"]);
    const visitDefs = (o: unknown): void => {
      if (Array.isArray(o)) {
        for (const x of o) visitDefs(x);
        return;
      }
      if (!o || typeof o !== "object") return;
      const r = o as Record<string, unknown>;
      if (typeof r.evaluator === "string" && SCRIPT_EVALUATOR.test(r.evaluator) && typeof r.name === "string") {
        scriptTypes.add(r.name);
        const template = (r.evaluatorOptions as Record<string, string> | undefined)?.scriptTemplate;
        if (template) found.scripts.set(template, where);
      }
      for (const v of Object.values(r)) visitDefs(v);
    };
    visitDefs(doc);
    const visit = (o: unknown, key: string): void => {
      if (typeof o === "string") {
        if (o.includes("${{")) found.templates.set(o, where);
        return;
      }
      if (Array.isArray(o)) {
        for (const x of o) visit(x, key);
        return;
      }
      if (!o || typeof o !== "object") return;
      const r = o as Record<string, unknown>;
      if (
        (key === "conditions" || key === "policyConditions") &&
        typeof r.type === "string" &&
        Array.isArray(r.values)
      ) {
        const def = scriptTypes.has(r.type);
        const isTemplateType = def && r.values.every((v) => /^(yes|no|true|false)$/i.test(String(v)));
        if (def && !isTemplateType) for (const v of r.values) found.scripts.set(String(v), where);
      }
      for (const [k, v] of Object.entries(r)) visit(v, k);
    };
    visit(doc, "");
  }
  return found;
}

const found = collect();

describe("corpus expressions compile", () => {
  it("finds the corpus's scripts and templates", () => {
    expect(found.scripts.size).toBeGreaterThanOrEqual(12);
    expect(found.templates.size).toBeGreaterThanOrEqual(8);
  });
  for (const [script, file] of found.scripts) {
    it(`script ${JSON.stringify(script)} (${file})`, () => {
      expect(() => compileExpression(script.trim())).not.toThrow();
    });
  }
  for (const [template, file] of found.templates) {
    it(`template ${JSON.stringify(template)} (${file})`, () => {
      expect(() => compileTemplate(template)).not.toThrow();
    });
  }
});

const at = (iso: string) => Date.parse(iso);
const cond = (script: string, env: ExpressionEnv) => evaluateCondition(compileExpression(script.trim()), env);

describe("corpus expressions give Ranger's results", () => {
  it("hdfs: `ctx.result = !!country_code`", () => {
    const s =
      "var country_code = ctx.getRequestContextAttribute('LOCATION_TEST_COUNTRY_CODE'); ctx.result = !!country_code;";
    expect(cond(s, { context: { LOCATION_TEST_COUNTRY_CODE: "US" } })).toBe(true);
    expect(cond(s, { context: {} })).toBe(false);
  });
  it("geo: two context attributes compared", () => {
    const s =
      "var country_code_format_long = ctx.getRequestContextAttribute('LOCATION_FORMAT_LONG_COUNTRY_CODE'); var country_code_format_dot = ctx.getRequestContextAttribute('LOCATION_FORMAT_DOT_COUNTRY_CODE');ctx.result = (country_code_format_long != null && country_code_format_dot != null && (country_code_format_long == country_code_format_dot));";
    const both = (a?: string, b?: string) => ({
      context: { LOCATION_FORMAT_LONG_COUNTRY_CODE: a, LOCATION_FORMAT_DOT_COUNTRY_CODE: b },
    });
    expect(cond(s, both("US", "US"))).toBe(true);
    expect(cond(s, both("US", "CA"))).toBe(false);
    expect(cond(s, both("US", undefined))).toBe(false);
  });
  it("tag_hive: `if (ctx.isAccessedBefore('expiry')) ctx.result = true;`", () => {
    const s = "if ( ctx.isAccessedBefore('expiry') ) ctx.result = true;";
    const tag = { type: "PII-FINAL", attributes: { expiry: "2099/12/31" } };
    expect(cond(s, { tags: [tag], currentTag: tag, accessTime: at("2020-01-01T00:00:00Z") })).toBe(true);
    const past = { type: "PII-FINAL", attributes: { expiry: "2015/12/31" } };
    expect(cond(s, { tags: [past], currentTag: past, accessTime: at("2020-01-01T00:00:00Z") })).toBe(false);
    expect(cond(s, { tags: [], accessTime: at("2020-01-01T00:00:00Z") })).toBe(false);
  });
  it("enforce-expiry template: `ctx.isAccessedAfter('expiry_date')` (Atlas date format)", () => {
    const s = "ctx.isAccessedAfter('expiry_date');";
    const tag = { type: "EXPIRES_ON", attributes: { expiry_date: "2099-12-31T15:05:15.000Z" } };
    expect(cond(s, { tags: [tag], currentTag: tag, accessTime: at("2020-01-01T00:00:00Z") })).toBe(false);
    expect(cond(s, { tags: [tag], currentTag: tag, accessTime: at("2100-01-01T00:00:00Z") })).toBe(true);
    const none = { type: "EXPIRES_ON", attributes: {} };
    expect(cond(s, { tags: [none], currentTag: none })).toBe(true); // no date ⇒ "accessed after"
  });
  it("with_roles: IS_IN_ROLE macros", () => {
    const s = "IS_IN_ROLE('fin-admin') && IS_IN_ROLE('hr-admin') ";
    expect(cond(s, { userRoles: ["hr-admin", "fin-admin"] })).toBe(true);
    expect(cond(s, { userRoles: ["fin-admin"] })).toBe(false);
  });
  it("resource_hierarchy_tags: `TAG.level == 'high'`", () => {
    const tag = { type: "RESTRICTED", attributes: { level: "high" } };
    expect(cond("TAG.level == 'high'", { tags: [tag], currentTag: tag })).toBe(true);
    expect(cond("TAG.level == 'top'", { tags: [tag], currentTag: tag })).toBe(false);
  });
  it("auth_context: `tagAttr.get('score') < 2` (Java map view)", () => {
    const s = "if ( tagAttr.get('score') < 2 ) ctx.result = true;";
    const tag = (score: string) => ({ type: "T", attributes: { score } });
    expect(cond(s, { tags: [tag("1")], currentTag: tag("1") })).toBe(true);
    expect(cond(s, { tags: [tag("3")], currentTag: tag("3") })).toBe(false);
  });
  it("mask_filter: `tag.score` reads no attribute of the Java tag object; `test` is an error ⇒ false", () => {
    const tag = { type: "T", attributes: { score: "0.9" } };
    expect(cond("tag.score > 0.6", { tags: [tag], currentTag: tag })).toBe(false);
    expect(cond("test", {})).toBe(false);
  });
  it("req_expressions: `${{USER._name}}`, `${{USER.dept}}`", () => {
    const env = { user: "scott", userAttributes: { dept: "r&d", testAttr1: "x_{USER}_y" } };
    expect(resolveTemplate(compileTemplate("/home/${{USER._name}}/{USER}.data"), env)).toBe("/home/scott/{USER}.data");
    expect(resolveTemplate(compileTemplate("/test/${{USER.testAttr1}}"), env)).toBe("/test/x_{USER}_y");
    expect(resolveTemplate(compileTemplate("dept='${{USER.dept}}'"), env)).toBe("dept='r&d'");
    expect(resolveTemplate(compileTemplate("dept='${{USER.dept}}'"), { user: "joe" })).toBe("dept='null'");
  });
});
