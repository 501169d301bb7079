// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${{…}}` is Ranger's request-expression syntax
import { describe, expect, it } from "vitest";
import {
  compileExpression,
  compileTemplate,
  type ExpressionEnv,
  ExpressionError,
  ExpressionRuntimeError,
  evaluate,
  evaluateCondition,
  resolveTemplate,
  validateExpression,
  validateTemplate,
} from "./index.ts";

const env: ExpressionEnv = {
  user: "alice",
  userGroups: ["sales", "analysts"],
  userRoles: ["auditor"],
  userAttributes: { dept: "fin", site: "paris" },
  groupAttributes: { sales: { region: "emea" }, analysts: { region: "amer", level: "2" } },
  accessType: "select",
  action: "query",
  accessTime: Date.parse("2024-03-05T10:30:00Z"),
  clientIPAddress: "10.0.0.1",
  resource: { database: "hr", table: "salaries" },
  resourceOwner: "bob",
  context: { country: "FR" },
  tags: [
    { type: "PII", attributes: { level: "high", expiry: "2030/01/01" } },
    { type: "FIN", attributes: { level: "low" } },
  ],
  currentTag: { type: "PII", attributes: { level: "high", expiry: "2030/01/01" } },
};

const val = (src: string, e: ExpressionEnv = env) => evaluate(compileExpression(src), e);

describe("the language", () => {
  it("reads Ranger's script variables", () => {
    expect(val("USER.dept")).toBe("fin");
    expect(val("USER._name")).toBe("alice");
    expect(val("UGNAMES")).toEqual(["analysts", "sales"]); // sorted, like Ranger
    expect(val("URNAMES[0]")).toBe("auditor");
    expect(val("UG.sales.region")).toBe("emea");
    expect(val("UG['analysts']._name")).toBe("analysts");
    expect(val("UGA.sVal.region")).toBe("amer");
    expect(val("UGA.mVal.region")).toEqual(["amer", "emea"]);
    expect(val("TAG.level")).toBe("high");
    expect(val("TAG._type")).toBe("PII");
    expect(val("TAGS.FIN.level")).toBe("low");
    expect(val("TAGNAMES")).toEqual(["FIN", "PII"]);
    expect(val("REQ.accessType + '/' + REQ.action")).toBe("select/query");
    expect(val("RES.table")).toBe("salaries");
    expect(val("RES._ownerUser")).toBe("bob");
    expect(val("_ctx.request.user")).toBe("alice");
    expect(val("tag.type")).toBe("PII");
    expect(val("tagAttr.level")).toBe("high");
  });
  it("has literals, comparisons, boolean and arithmetic operators, ternaries and arrays", () => {
    expect(val("1 + 2 * 3 == 7 && !false")).toBe(true);
    expect(val("'a' + 1")).toBe("a1");
    expect(val("USER.missing == null")).toBe(true);
    expect(val("USER.missing === undefined")).toBe(true);
    expect(val("USER.dept == 'fin' ? 'yes' : 'no'")).toBe("yes");
    expect(val("['a', 'b'].includes(USER.missing ?? 'b')")).toBe(true);
    expect(val("USER?.nope?.deeper")).toBeUndefined();
    expect(val("-(2) + +'3'")).toBe(1);
  });
  it("has the allow-listed string and array methods", () => {
    expect(val("USER.site.startsWith('par') && USER.site.endsWith('is')")).toBe(true);
    expect(val("'a,b,c'.split(',')")).toEqual(["a", "b", "c"]);
    expect(val("' X '.trim().toLowerCase()")).toBe("x");
    expect(val("UGNAMES.join('|')")).toBe("analysts|sales");
    expect(val("UGNAMES.indexOf('sales')")).toBe(1);
    expect(val("UGNAMES.length")).toBe(2);
    expect(val("UGNAMES.intersects(['x', 'sales'])")).toBe(true);
    expect(val("[[USER.site]].includes('paris')")).toBe(true); // Ranger's [[…]] edit ⇒ .split(",")
    expect(val("[[USER.site,'a']].length")).toBe(2); // "paris".split("a")
  });
  it("supports var, if/else, blocks and the completion value", () => {
    expect(val("var x = 1; var y = x + 1; y")).toBe(2);
    expect(val("if (USER.dept == 'hr') { 'a' } else { 'b' }")).toBe("b");
    expect(val("var a = 1\nvar b = 2\na + b")).toBe(3);
    expect(val("x = 5; x")).toBe(5);
    expect(val("/* comment */ 1 // trailing")).toBe(1);
  });
  it("expands Ranger's macros", () => {
    expect(val("IS_IN_GROUP('sales') && !IS_IN_GROUP('hr')")).toBe(true);
    expect(val("IS_IN_ROLE('auditor')")).toBe(true);
    expect(val("IS_IN_ANY_GROUP && !IS_NOT_IN_ANY_ROLE")).toBe(true);
    expect(val("HAS_TAG('PII') && HAS_ANY_TAG && !HAS_NO_TAG")).toBe(true);
    expect(val("HAS_USER_ATTR('dept') && !HAS_USER_ATTR('x') && HAS_UG_ATTR('level') && HAS_TAG_ATTR('expiry')")).toBe(
      true,
    );
    expect(val("GET_UG_NAMES_Q()")).toBe("'analysts','sales'");
    expect(val("GET_UG_NAMES(null, '|')")).toBe("analysts|sales");
    expect(val("UG_NAMES_CSV")).toBe("analysts,sales");
    expect(val("GET_USER_ATTR('dept')")).toBe("fin");
    expect(val("GET_UG_ATTR('region')")).toBe("amer,emea");
    expect(val("GET_TAG_ATTR_Q('level')")).toBe("'low','high'");
    expect(val("GET_TAG_NAMES()")).toBe("FIN,PII");
    expect(val("USER_ATTR_NAMES_CSV")).toBe("dept,site");
    expect(val("IS_ACCESS_TIME_AFTER('2024/03/01')")).toBe(true);
    expect(val("IS_ACCESS_TIME_BEFORE('2024/03/05 10:00:00')")).toBe(false);
    expect(val("IS_ACCESS_TIME_BETWEEN('2024/03/05 19:00', '2024/03/05 20:00', 'Asia/Tokyo')")).toBe(true);
  });
  it("exposes ctx methods", () => {
    expect(val("ctx.getRequestContextAttribute('country')")).toBe("FR");
    expect(val("ctx.getUser()")).toBe("alice");
    expect(val("ctx.user")).toBe("alice"); // bean property
    expect(val("ctx.getAccessTime().getTime()")).toBe(env.accessTime);
    expect(val("ctx.getAttributeValue('FIN', 'level')")).toBe("low");
    expect(val("ctx.getTagAttributes('PII').get('level')")).toBe("high");
    expect(val("ctx.isAccessedBefore('expiry')")).toBe(true);
    expect(val("ctx.isAccessedAfter('PII', 'expiry')")).toBe(false);
    expect(val("ctx.isAccessTypeAny()")).toBe(false);
  });
});

describe("condition semantics (RangerScriptConditionEvaluator)", () => {
  const cond = (src: string, e: ExpressionEnv = env) => evaluateCondition(compileExpression(src), e);
  it("a boolean completion value decides; otherwise ctx.result does", () => {
    expect(cond("USER.dept == 'fin'")).toBe(true);
    expect(cond("if (false) ctx.result = true;")).toBe(false);
    expect(cond("ctx.result = true; 'not a boolean'")).toBe(true);
    expect(cond("ctx.result = true; false")).toBe(false);
    expect(cond("1")).toBe(false);
    expect(cond("ctx.setResult(true)")).toBe(true);
  });
  it("a failing script yields ctx.result as set so far", () => {
    expect(cond("unknownVariable")).toBe(false);
    expect(cond("ctx.result = true; USER.missing.deeper")).toBe(true);
  });
  it("a blank script matches", () => {
    expect(cond("   ")).toBe(true);
  });
});

describe("templates (RangerRequestExprResolver)", () => {
  it("substitutes every ${{expr}}", () => {
    const t = compileTemplate("dept='${{USER.dept}}' and site='${{USER.site}}'");
    expect(t.hasExpressions).toBe(true);
    expect(resolveTemplate(t, env)).toBe("dept='fin' and site='paris'");
  });
  it("renders null, failures and non-strings like Ranger's Objects.toString", () => {
    expect(resolveTemplate(compileTemplate("${{USER.nope}}|${{nope.x}}|${{1 + 1}}|${{true}}"), env)).toBe(
      "null|null|2|true",
    );
  });
  it("leaves strings without expressions alone and inserts values literally", () => {
    expect(resolveTemplate(compileTemplate("/home/{USER}"), env)).toBe("/home/{USER}");
    expect(resolveTemplate(compileTemplate("${{'$1\\\\'}}"), env)).toBe("$1\\");
  });
  it("reports errors at their offset in the whole string", () => {
    expect(validateTemplate("x=${{new Foo()}}").errors).toEqual([
      { message: "`new` expressions are not allowed", position: 5 },
    ]);
    expect(() => compileTemplate("a ${{process.exit()}}")).toThrow("`process` is not available at 5");
  });
});

describe("rejected constructs (injection attempts)", () => {
  const rejected: [string, string][] = [
    ["new Function('return process')()", "`new` expressions are not allowed at 0"],
    ["Function('return 1')()", "`Function` is not available at 0"],
    ["USER.constructor", "access to `constructor` is not allowed at 5"],
    ["USER['constructor']['constructor']('return process')()", "access to `constructor` is not allowed"],
    ["''.constructor.constructor('x')", "access to `constructor` is not allowed at 3"],
    ["USER.__proto__", "access to `__proto__` is not allowed at 5"],
    ["UGNAMES['__proto__']", "access to `__proto__` is not allowed"],
    ["Object.prototype", "`Object` is not available at 0"],
    ["USER.prototype", "access to `prototype` is not allowed"],
    ["globalThis.process", "`globalThis` is not available at 0"],
    ["process.exit(1)", "`process` is not available at 0"],
    ["require('fs')", "`require` is not available at 0"],
    ["import('fs')", "`import` is not allowed at 0"],
    ["eval('1')", "`eval` is not available at 0"],
    ["this.x", "`this` is not allowed at 0"],
    ["USER = 1", "assignment to `USER` is not allowed"],
    ["USER.dept = 'x'", "assignment to `USER.dept` is not allowed"],
    ["ctx.result += 1", "compound assignment `+=` is not allowed"],
    ["(ctx.result = true)", "assignment is only allowed as a statement"],
    ["function f() {}", "functions are not allowed at 0"],
    ["UGNAMES.some(g => g == 'x')", "arrow functions are not allowed"],
    ["while (true) {}", "`while` loops are not allowed at 0"],
    ["for (;;) {}", "`for` loops are not allowed at 0"],
    ["`${USER.dept}`", "template literals are not allowed at 0"],
    ["USER.dept.replace.call(null)", "method `call` is not allowed"],
    ["'x'.padStart(1e9)", "method `padStart` is not allowed"],
    ["UGNAMES.map(String)", "method `map` is not allowed"],
    ["USER['to' + 'String']()", "computed method names are not allowed"],
    ["1 | 2", "operator `|` is not allowed at 2"],
    ["typeof USER", "`typeof` is not allowed at 0"],
    ["delete USER.dept", "`delete` is not allowed at 0"],
    ["a b", "unexpected expression (separate statements with `;`) at 2"],
    ["Java.type('java.lang.Runtime')", "`Java` is not available at 0"],
    ["HAS_ANY_TAG()", "macro `HAS_ANY_TAG` is not a function"],
    ["var IS_IN_GROUP = 1", "`IS_IN_GROUP` cannot be redefined"],
  ];
  for (const [src, message] of rejected) {
    it(`rejects ${src}`, () => {
      expect(() => compileExpression(src)).toThrow(ExpressionError);
      expect(() => compileExpression(src)).toThrow(message);
      expect(validateExpression(src).errors).toHaveLength(1);
    });
  }
  it("never reads prototype properties through computed keys", () => {
    const c = compileExpression("var k = '__pro' + 'to__'; USER[k]");
    expect(() => evaluate(c, env)).toThrow(ExpressionRuntimeError);
    expect(val("var k = 'hasOwn' + 'Property'; USER[k]")).toBeUndefined();
    expect(val("var k = 'toString'; UGNAMES[k]")).toBeUndefined();
  });
  it("never calls functions found in data", () => {
    const hostile = { ...env, userAttributes: { f: (() => "pwned") as unknown as string } };
    expect(() => evaluate(compileExpression("USER.f()"), hostile)).toThrow("`f` is not allowed");
  });
  it("bounds the work and the size of values", () => {
    const doubling = `var s = 'xxxxxxxxxx'; ${Array.from({ length: 30 }, () => "s = s + s;").join(" ")} s.length`;
    expect(() => evaluate(compileExpression(doubling), env)).toThrow("size limit");
    const many = Array.from({ length: 200 }, () => "UGNAMES.includes('x')").join(" || ");
    expect(() => evaluate(compileExpression(many), env, { maxSteps: 100 })).toThrow("step limit");
    expect(() => evaluate(compileExpression("'x,'.concat(USER.dept).split('')"), env, { maxValueSize: 2 })).toThrow(
      "size limit",
    );
  });
  it("warns about unknown variables (Ranger evaluates them to an error)", () => {
    expect(validateExpression("foo == 1")).toEqual({
      errors: [],
      warnings: [{ message: "unknown variable `foo` (evaluates to an error, as in Ranger)", position: 0 }],
    });
  });
});

describe("performance", () => {
  it("evaluates a compiled condition quickly", () => {
    const c = compileExpression("IS_IN_GROUP('sales') && USER.dept == 'fin' && TAG.level.startsWith('hi')");
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) evaluateCondition(c, env);
    const perCall = ((performance.now() - t0) * 1000) / n;
    expect(perCall).toBeLessThan(20); // µs; typically well under 1
  });
});
