/**
 * Compiler of the expression language: statements and jsep nodes become a tree of closures,
 * checked against an allow-list at compile time and guarded again at run time (own-property
 * reads only, allow-listed methods only, step and size budgets).
 */
import type jsep from "jsep";
import { ExpressionError, ExpressionRuntimeError } from "./errors.ts";
import { type Node, parseScript, replaceDoubleBrackets, type Statement } from "./parse.ts";
import { CtxHost, DateHost, derivedFor, FORBIDDEN_PROPERTIES, Host, MapHost, Scope, TagHost } from "./runtime.ts";
import type {
  CompiledExpression,
  EvaluateOptions,
  ExpressionEnv,
  ExpressionIssue,
  ExpressionValidation,
} from "./types.ts";

type Fn = (s: Scope) => unknown;
const EMPTY: unique symbol = Symbol("empty");
const NO_OPTIONS: EvaluateOptions = Object.freeze({});

// ---------------------------------------------------------------- script variables and macros

/** Variables Ranger binds for every script (RangerRequestScriptEvaluator). */
const SCRIPT_VARS: Record<string, Fn> = {
  ctx: (s) => s.ctx,
  tag: (s) => (s.env.currentTag ? new TagHost(s.env.currentTag) : null),
  tagAttr: (s) => new MapHost(s.env.currentTag?.attributes ?? {}),
  _ctx: (s) => ({
    request: s.derived.request,
    tags: s.derived.tags.tags,
    tagNames: s.derived.tags.tagNames,
    tag: s.derived.tags.tag,
  }),
  REQ: (s) => s.derived.request,
  RES: (s) => s.derived.request.resource,
  USER: (s) => s.derived.userAttrs,
  UGNAMES: (s) => s.derived.userGroups,
  UG: (s) => s.derived.groupAttrs,
  UGA: (s) => s.derived.userGroupsAttributes,
  URNAMES: (s) => s.derived.userRoles,
  TAG: (s) => s.derived.tags.tag,
  TAGS: (s) => s.derived.tags.tags,
  TAGNAMES: (s) => s.derived.tags.tagNames,
};

const CONSTANTS: Record<string, unknown> = {
  undefined: undefined,
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
};

/** Ranger's macros (RangerRequestScriptEvaluator#getMacrosMap): a ctx method, called or to be called. */
interface Macro {
  method: string;
  /** The macro already includes `()`. */
  called: boolean;
  negate: boolean;
}
const MACROS: Record<string, Macro> = {};
for (const [name, method] of Object.entries({
  GET_TAG_NAMES: "tagNames",
  GET_TAG_NAMES_Q: "tagNamesQ",
  GET_TAG_ATTR_NAMES: "tagAttrNames",
  GET_TAG_ATTR_NAMES_Q: "tagAttrNamesQ",
  GET_TAG_ATTR: "tagAttr",
  GET_TAG_ATTR_Q: "tagAttrQ",
  GET_UG_NAMES: "ugNames",
  GET_UG_NAMES_Q: "ugNamesQ",
  GET_UG_ATTR_NAMES: "ugAttrNames",
  GET_UG_ATTR_NAMES_Q: "ugAttrNamesQ",
  GET_UG_ATTR: "ugAttr",
  GET_UG_ATTR_Q: "ugAttrQ",
  GET_UR_NAMES: "urNames",
  GET_UR_NAMES_Q: "urNamesQ",
  GET_USER_ATTR_NAMES: "userAttrNames",
  GET_USER_ATTR_NAMES_Q: "userAttrNamesQ",
  GET_USER_ATTR: "userAttr",
  GET_USER_ATTR_Q: "userAttrQ",
  GET_TAG_ATTR_CSV: "tagAttrCsv",
  GET_TAG_ATTR_Q_CSV: "tagAttrCsvQ",
  GET_UG_ATTR_CSV: "ugAttrCsv",
  GET_UG_ATTR_Q_CSV: "ugAttrCsvQ",
  HAS_TAG: "hasTag",
  HAS_USER_ATTR: "hasUserAttr",
  HAS_UG_ATTR: "hasUgAttr",
  HAS_TAG_ATTR: "hasTagAttr",
  IS_IN_GROUP: "isInGroup",
  IS_IN_ROLE: "isInRole",
  IS_ACCESS_TIME_AFTER: "isAccessTimeAfter",
  IS_ACCESS_TIME_BEFORE: "isAccessTimeBefore",
  IS_ACCESS_TIME_BETWEEN: "isAccessTimeBetween",
})) {
  MACROS[name] = { method, called: false, negate: false };
}
for (const [name, method, negate] of [
  ["TAG_ATTR_NAMES_CSV", "tagAttrNamesCsv", false],
  ["TAG_ATTR_NAMES_Q_CSV", "tagAttrNamesCsvQ", false],
  ["TAG_NAMES_CSV", "tagNamesCsv", false],
  ["TAG_NAMES_Q_CSV", "tagNamesCsvQ", false],
  ["UG_ATTR_NAMES_CSV", "ugAttrNamesCsv", false],
  ["UG_ATTR_NAMES_Q_CSV", "ugAttrNamesCsvQ", false],
  ["UG_NAMES_CSV", "ugNamesCsv", false],
  ["UG_NAMES_Q_CSV", "ugNamesCsvQ", false],
  ["UR_NAMES_CSV", "urNamesCsv", false],
  ["UR_NAMES_Q_CSV", "urNamesCsvQ", false],
  ["USER_ATTR_NAMES_CSV", "userAttrNamesCsv", false],
  ["USER_ATTR_NAMES_Q_CSV", "userAttrNamesCsvQ", false],
  ["HAS_ANY_TAG", "hasAnyTag", false],
  ["HAS_NO_TAG", "hasAnyTag", true],
  ["IS_IN_ANY_GROUP", "isInAnyGroup", false],
  ["IS_IN_ANY_ROLE", "isInAnyRole", false],
  ["IS_NOT_IN_ANY_GROUP", "isInAnyGroup", true],
  ["IS_NOT_IN_ANY_ROLE", "isInAnyRole", true],
] as const) {
  MACROS[name] = { method, called: true, negate };
}

// ---------------------------------------------------------------- allow-listed methods

type MethodImpl<T> = (self: T, args: unknown[], s: Scope) => unknown;

const toStr = (v: unknown) => String(v);
const optNum = (v: unknown) => (v === undefined ? undefined : Number(v));

const STRING_METHODS: Record<string, MethodImpl<string>> = {
  startsWith: (x, [a, p]) => x.startsWith(toStr(a), optNum(p)),
  endsWith: (x, [a, p]) => x.endsWith(toStr(a), optNum(p)),
  includes: (x, [a, p]) => x.includes(toStr(a), optNum(p)),
  contains: (x, [a]) => x.includes(toStr(a)),
  indexOf: (x, [a, p]) => x.indexOf(toStr(a), optNum(p)),
  lastIndexOf: (x, [a, p]) => x.lastIndexOf(toStr(a), optNum(p)),
  split: (x, [sep, limit], s) => {
    s.charge(x.length);
    if (sep === undefined) return [x];
    return s.checkSize(x.split(toStr(sep), optNum(limit)));
  },
  toLowerCase: (x) => x.toLowerCase(),
  toUpperCase: (x) => x.toUpperCase(),
  trim: (x) => x.trim(),
  trimStart: (x) => x.trimStart(),
  trimEnd: (x) => x.trimEnd(),
  substring: (x, [a, b]) => x.substring(Number(a), optNum(b)),
  substr: (x, [a, b]) => x.substr(Number(a), optNum(b)),
  slice: (x, [a, b]) => x.slice(optNum(a), optNum(b)),
  charAt: (x, [a]) => x.charAt(Number(a ?? 0)),
  concat: (x, args, s) => s.checkSize(x.concat(...args.map(toStr))),
  replace: (x, [a, b]) => x.replace(toStr(a), () => toStr(b)),
  replaceAll: (x, [a, b], s) => {
    const from = toStr(a);
    const to = toStr(b);
    if ((x.length + 1) * to.length + x.length > s.maxSize) s.checkSize("x".repeat(s.maxSize + 1));
    s.charge(x.length);
    return x.split(from).join(to);
  },
  equals: (x, [a]) => x === a,
  equalsIgnoreCase: (x, [a]) => typeof a === "string" && x.toLowerCase() === a.toLowerCase(),
  isEmpty: (x) => x.length === 0,
  toString: (x: string) => x,
};

const sameValueZero = (a: unknown, b: unknown) => a === b || (Number.isNaN(a) && Number.isNaN(b));

const ARRAY_METHODS: Record<string, MethodImpl<unknown[]>> = {
  includes: (x, [v], s) => {
    s.charge(x.length);
    return x.some((e) => sameValueZero(e, v));
  },
  contains: (x, [v], s) => {
    s.charge(x.length);
    return x.includes(v);
  },
  indexOf: (x, [v], s) => {
    s.charge(x.length);
    return x.indexOf(v);
  },
  lastIndexOf: (x, [v], s) => {
    s.charge(x.length);
    return x.lastIndexOf(v);
  },
  join: (x, [sep], s) => {
    const sepStr = sep === undefined ? "," : toStr(sep);
    s.charge(x.length);
    if (x.length * (sepStr.length + 1) > s.maxSize * 2) s.checkSize("x".repeat(s.maxSize + 1));
    return s.checkSize(x.map((e) => (e === null || e === undefined ? "" : toStr(e))).join(sepStr));
  },
  slice: (x, [a, b], s) => {
    s.charge(x.length);
    return x.slice(optNum(a), optNum(b));
  },
  concat: (x, args, s) => {
    const out = x.concat(...args.map((a) => (Array.isArray(a) ? a : [a])));
    s.charge(out.length);
    return s.checkSize(out);
  },
  // Ranger's polyfill: true when some element is found in x (an array or a string).
  intersects: (x, [other], s) => {
    if (other === null || other === undefined) return false;
    s.charge(x.length);
    if (typeof other === "string") return x.some((n) => other.indexOf(toStr(n)) > -1);
    if (!Array.isArray(other)) return false;
    s.charge(other.length);
    const set = new Set(other);
    return x.some((n) => set.has(n));
  },
  size: (x) => x.length,
  isEmpty: (x) => x.length === 0,
  get: (x, [i]) => (Number.isInteger(i) && (i as number) >= 0 ? x[i as number] : undefined),
  toString: (x: unknown[], _args: unknown[], s: Scope) => (ARRAY_METHODS.join as MethodImpl<unknown[]>)(x, [","], s),
};

const PRIMITIVE_METHODS: Record<string, MethodImpl<number | boolean>> = {
  toString: (x: number | boolean) => String(x),
  toFixed: (x, [d]) => (typeof x === "number" ? x.toFixed(Math.min(20, Math.max(0, Number(d ?? 0)))) : String(x)),
};

const ALL_METHODS = new Set<string>([
  ...Object.keys(STRING_METHODS),
  ...Object.keys(ARRAY_METHODS),
  ...Object.keys(PRIMITIVE_METHODS),
  ...CtxHost.METHODS.keys(),
  ...MapHost.METHODS.keys(),
  ...TagHost.METHODS.keys(),
  ...DateHost.METHODS.keys(),
]);

/** Data → JSON for `J(x)` / `JSON.stringify(x)`; host objects become their data. */
function stringify(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof MapHost) return x.data;
    if (x instanceof TagHost) return x.tag;
    if (x instanceof DateHost) return x.time;
    if (x instanceof Host) return {};
    return x;
  });
}

const GLOBAL_FUNCTIONS: Record<string, (args: unknown[], s: Scope) => unknown> = {
  parseInt: ([v, radix]) => Number.parseInt(toStr(v), optNum(radix)),
  parseFloat: ([v]) => Number.parseFloat(toStr(v)),
  Number: ([v]) => (v instanceof Host ? Number.NaN : Number(v)),
  String: ([v]) => String(v),
  Boolean: ([v]) => Boolean(v),
  isNaN: ([v]) => Number.isNaN(Number(v)),
  J: ([v], s) => s.checkSize(stringify(v)),
};

// ---------------------------------------------------------------- runtime guards

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Host) return v.constructor.name.replace(/Host$/, "").toLowerCase();
  return typeof v;
}

/** Property read with own-property semantics; never reaches a prototype. */
function getMember(obj: unknown, key: unknown, s: Scope, optional: boolean): unknown {
  if (obj === null || obj === undefined) {
    if (optional) return undefined;
    throw new ExpressionRuntimeError(`cannot read \`${String(key)}\` of ${obj === null ? "null" : "undefined"}`);
  }
  const k = typeof key === "number" ? key : String(key);
  if (typeof k === "string" && FORBIDDEN_PROPERTIES.has(k)) {
    throw new ExpressionRuntimeError(`access to \`${k}\` is not allowed`);
  }
  if (typeof obj === "string" || Array.isArray(obj)) {
    if (k === "length") return obj.length;
    const i = typeof k === "number" ? k : /^(0|[1-9]\d*)$/.test(k) ? Number(k) : -1;
    return i >= 0 && i < obj.length ? obj[i] : undefined;
  }
  if (obj instanceof Host) return obj.get(String(k), s);
  if (typeof obj === "object") {
    const sk = String(k);
    return Object.hasOwn(obj, sk) ? (obj as Record<string, unknown>)[sk] : undefined;
  }
  return undefined;
}

function callMethod(recv: unknown, name: string, args: unknown[], s: Scope, optional: boolean): unknown {
  s.charge(1);
  if (recv === null || recv === undefined) {
    if (optional) return undefined;
    throw new ExpressionRuntimeError(`cannot call \`${name}\` on ${recv === null ? "null" : "undefined"}`);
  }
  if (typeof recv === "string") {
    const m = Object.hasOwn(STRING_METHODS, name) ? STRING_METHODS[name] : undefined;
    if (m) return m(recv, args, s);
  } else if (Array.isArray(recv)) {
    const m = Object.hasOwn(ARRAY_METHODS, name) ? ARRAY_METHODS[name] : undefined;
    if (m) return m(recv, args, s);
  } else if (recv instanceof Host) {
    if (recv.has(name)) return recv.call(name, args, s);
  } else if (typeof recv === "number" || typeof recv === "boolean") {
    const m = Object.hasOwn(PRIMITIVE_METHODS, name) ? PRIMITIVE_METHODS[name] : undefined;
    if (m) return m(recv, args, s);
  }
  throw new ExpressionRuntimeError(`\`${name}\` is not a function of ${typeName(recv)}`);
}

// ---------------------------------------------------------------- compiler

const BINARY: Record<string, (a: unknown, b: unknown) => unknown> = {
  // biome-ignore lint/suspicious/noDoubleEquals: the language has JavaScript's loose equality
  "==": (a, b) => a == b,
  // biome-ignore lint/suspicious/noDoubleEquals: the language has JavaScript's loose equality
  "!=": (a, b) => a != b,
  "===": (a, b) => a === b,
  "!==": (a, b) => a !== b,
  "<": (a, b) => (a as number) < (b as number),
  ">": (a, b) => (a as number) > (b as number),
  "<=": (a, b) => (a as number) <= (b as number),
  ">=": (a, b) => (a as number) >= (b as number),
  "+": (a, b) => (a as number) + (b as number),
  "-": (a, b) => (a as number) - (b as number),
  "*": (a, b) => (a as number) * (b as number),
  "/": (a, b) => (a as number) / (b as number),
  "%": (a, b) => (a as number) % (b as number),
};

class Compiler {
  readonly source: string;
  readonly locals = new Set<string>();
  readonly warnings: ExpressionIssue[] = [];
  readonly variables = new Set<string>();

  constructor(source: string) {
    this.source = source;
  }

  /** Best-effort offset of `text` at or after `from`. */
  private find(text: string, from: number | undefined): number {
    const i = this.source.indexOf(text, from ?? 0);
    return i >= 0 ? i : (from ?? 0);
  }

  private error(message: string, position: number): never {
    throw new ExpressionError(message, position);
  }

  collectLocals(stmts: Statement[]): void {
    const assigned: { name: string; pos: number }[] = [];
    const walk = (list: Statement[]) => {
      for (const st of list) {
        if (st.kind === "var") for (const d of st.decls) this.locals.add(d.name);
        if (st.kind === "block") walk(st.body);
        if (st.kind === "if") walk(st.else ? [st.then, st.else] : [st.then]);
        for (let a: Statement = st; a.kind === "assign"; a = a.value) {
          if (a.target.kind === "local") assigned.push({ name: a.target.name, pos: a.pos });
        }
      }
    };
    walk(stmts);
    for (const { name, pos } of assigned) {
      // script variables are Ranger's bindings: only a `var` of the same name may shadow them
      if (!this.locals.has(name) && Object.hasOwn(SCRIPT_VARS, name)) {
        this.error(`assignment to \`${name}\` is not allowed (only \`ctx.result\` and local variables)`, pos);
      }
      this.locals.add(name);
    }
    for (const name of this.locals) {
      if (Object.hasOwn(MACROS, name) || Object.hasOwn(CONSTANTS, name) || Object.hasOwn(GLOBAL_FUNCTIONS, name)) {
        this.error(`\`${name}\` cannot be redefined`, this.find(name, 0));
      }
    }
  }

  program(stmts: Statement[]): Fn {
    const body = stmts.map((st) => this.statement(st));
    return (s) => {
      let v: unknown;
      for (const f of body) {
        const r = f(s);
        if (r !== EMPTY) v = r;
      }
      return v;
    };
  }

  private statement(st: Statement): Fn {
    switch (st.kind) {
      case "empty":
        return () => EMPTY;
      case "expr":
        return this.node(st.expr);
      case "assign": {
        const value = this.statement(st.value);
        if (st.target.kind === "ctxResult") {
          this.variables.add("ctx");
          return (s) => {
            const v = value(s);
            s.result = Boolean(v);
            return v;
          };
        }
        const name = st.target.name;
        return (s) => {
          const v = value(s);
          s.locals.set(name, v);
          return v;
        };
      }
      case "var": {
        const inits = st.decls
          .filter((d) => d.init)
          .map((d) => ({ name: d.name, value: this.statement(d.init as Statement) }));
        return (s) => {
          for (const d of inits) s.locals.set(d.name, d.value(s));
          return EMPTY;
        };
      }
      case "if": {
        const test = this.node(st.test);
        const then = this.statement(st.then);
        const otherwise = st.else ? this.statement(st.else) : undefined;
        return (s) => {
          const r = test(s) ? then(s) : otherwise ? otherwise(s) : undefined;
          return r === EMPTY ? undefined : r;
        };
      }
      case "block": {
        const body = st.body.map((b) => this.statement(b));
        return (s) => {
          let v: unknown = EMPTY;
          for (const f of body) {
            const r = f(s);
            if (r !== EMPTY) v = r;
          }
          return v;
        };
      }
    }
  }

  private node(n: Node, pos = n.start ?? 0): Fn {
    switch (n.type) {
      case "Literal": {
        const v = (n as jsep.Literal).value;
        if (v instanceof RegExp) this.error("regular expressions are not allowed", pos);
        return () => v;
      }
      case "Identifier":
        return this.identifier((n as jsep.Identifier).name, pos);
      case "MemberExpression":
        return this.member(n as jsep.MemberExpression & Node, pos);
      case "CallExpression":
        return this.call(n as jsep.CallExpression & Node, pos);
      case "UnaryExpression": {
        const u = n as jsep.UnaryExpression;
        const arg = this.node(u.argument as Node, (u.argument as Node).start ?? pos + 1);
        if (u.operator === "!") return (s) => !arg(s);
        if (u.operator === "-") return (s) => -(arg(s) as number);
        if (u.operator === "+") return (s) => +(arg(s) as number);
        return this.error(`operator \`${u.operator}\` is not allowed`, pos);
      }
      case "BinaryExpression": {
        const b = n as jsep.BinaryExpression;
        const left = this.node(b.left as Node, pos);
        const right = this.node(b.right as Node, (b.right as Node).start ?? pos);
        const at = this.find(b.operator, pos);
        if (b.operator === "&&") return (s) => left(s) && right(s);
        if (b.operator === "||") return (s) => left(s) || right(s);
        if (b.operator === "??") return (s) => left(s) ?? right(s);
        const op = Object.hasOwn(BINARY, b.operator) ? BINARY[b.operator] : undefined;
        if (!op) return this.error(`operator \`${b.operator}\` is not allowed`, at);
        if (b.operator === "+") {
          return (s) => {
            s.charge(1);
            return s.checkSize(op(left(s), right(s)));
          };
        }
        return (s) => {
          s.charge(1);
          return op(left(s), right(s));
        };
      }
      case "ConditionalExpression": {
        const c = n as jsep.ConditionalExpression;
        const test = this.node(c.test as Node, pos);
        const yes = this.node(c.consequent as Node, (c.consequent as Node).start ?? pos);
        const no = this.node(c.alternate as Node, (c.alternate as Node).start ?? pos);
        return (s) => (test(s) ? yes(s) : no(s));
      }
      case "ArrayExpression": {
        const elements = (n as jsep.ArrayExpression).elements.map((e) => {
          if (!e) return this.error("array holes are not allowed", pos);
          return this.node(e as Node, (e as Node).start ?? pos);
        });
        return (s) => {
          s.charge(elements.length);
          return elements.map((f) => f(s));
        };
      }
      case "SequenceExpression": {
        const parts = (n as jsep.SequenceExpression).expressions.map((e) => this.node(e as Node, pos));
        return (s) => {
          let v: unknown;
          for (const f of parts) v = f(s);
          return v;
        };
      }
      case "ThisExpression":
        return this.error("`this` is not allowed", pos);
      default:
        return this.error(`\`${n.type}\` is not allowed`, pos);
    }
  }

  private identifier(name: string, pos: number): Fn {
    if (this.locals.has(name)) {
      return (s) => s.locals.get(name);
    }
    if (Object.hasOwn(SCRIPT_VARS, name)) {
      this.variables.add(name);
      return SCRIPT_VARS[name];
    }
    if (Object.hasOwn(CONSTANTS, name)) {
      const v = CONSTANTS[name];
      return () => v;
    }
    if (Object.hasOwn(MACROS, name)) {
      const m = MACROS[name];
      if (!m.called) this.error(`macro \`${name}\` must be called`, pos);
      this.variables.add("ctx");
      return m.negate ? (s) => !s.ctx.call(m.method, [], s) : (s) => s.ctx.call(m.method, [], s);
    }
    if (Object.hasOwn(GLOBAL_FUNCTIONS, name) || name === "JSON") {
      this.error(`\`${name}\` can only be called`, pos);
    }
    this.warnings.push({
      message: `unknown variable \`${name}\` (evaluates to an error, as in Ranger)`,
      position: pos,
    });
    return () => {
      throw new ExpressionRuntimeError(`\`${name}\` is not defined`);
    };
  }

  /** Static property name of a member node, or null when computed from data. */
  private propertyName(m: jsep.MemberExpression): string | null {
    const p = m.property as Node;
    if (!m.computed && p.type === "Identifier") return (p as jsep.Identifier).name;
    if (m.computed && p.type === "Literal") return String((p as jsep.Literal).value);
    return null;
  }

  private member(m: jsep.MemberExpression & Node, pos: number): Fn {
    const object = this.node(m.object as Node, pos);
    const optional = m.optional === true;
    const name = this.propertyName(m);
    if (name !== null) {
      if (FORBIDDEN_PROPERTIES.has(name)) this.error(`access to \`${name}\` is not allowed`, this.find(name, pos));
      return (s) => {
        s.charge(1);
        return getMember(object(s), name, s, optional);
      };
    }
    const key = this.node(m.property as Node, (m.property as Node).start ?? pos);
    return (s) => {
      s.charge(1);
      const o = object(s);
      const k = key(s);
      return getMember(o, typeof k === "number" ? k : String(k), s, optional);
    };
  }

  private call(c: jsep.CallExpression & Node, pos: number): Fn {
    let args: Fn[] = [];
    // arguments compile after the callee checks, so the first error reported is the callee's
    const compileArgs = () => {
      args = c.arguments.map((a) => this.node(a as Node, (a as Node).start ?? pos));
    };
    const evalArgs = (s: Scope) => args.map((f) => f(s));
    const callee = c.callee as Node;

    if (callee.type === "Identifier") {
      const name = (callee as jsep.Identifier).name;
      if (this.locals.has(name)) this.error(`\`${name}\` is not a function`, pos);
      if (Object.hasOwn(MACROS, name)) {
        const m = MACROS[name];
        if (m.called) this.error(`macro \`${name}\` is not a function (it already calls \`ctx.${m.method}()\`)`, pos);
        this.variables.add("ctx");
        compileArgs();
        return (s) => {
          s.charge(1);
          return s.ctx.call(m.method, evalArgs(s), s);
        };
      }
      if (Object.hasOwn(GLOBAL_FUNCTIONS, name)) {
        const f = GLOBAL_FUNCTIONS[name];
        compileArgs();
        return (s) => {
          s.charge(1);
          return f(evalArgs(s), s);
        };
      }
      return this.error(`calling \`${name}\` is not allowed`, pos);
    }

    if (callee.type !== "MemberExpression") {
      this.node(callee, pos);
      return this.error("only method calls are allowed", pos);
    }
    const m = callee as jsep.MemberExpression & Node;
    const name = this.propertyName(m);
    if (name === null) return this.error("computed method names are not allowed", pos);
    const at = this.find(name, pos);
    if (FORBIDDEN_PROPERTIES.has(name)) this.error(`access to \`${name}\` is not allowed`, at);
    const obj = m.object as Node;
    if (obj.type === "Identifier" && (obj as jsep.Identifier).name === "JSON" && !this.locals.has("JSON")) {
      if (name !== "stringify") this.error(`\`JSON.${name}\` is not allowed`, at);
      const f = GLOBAL_FUNCTIONS.J;
      compileArgs();
      return (s) => {
        s.charge(1);
        return f(evalArgs(s), s);
      };
    }
    if (!ALL_METHODS.has(name)) this.error(`method \`${name}\` is not allowed`, at);
    const recv = this.node(obj, pos);
    compileArgs();
    const optional = m.optional === true;
    return (s) => callMethod(recv(s), name, evalArgs(s), s, optional);
  }
}

/**
 * Parses and compiles a script (condition text or the inside of `${{…}}`).
 * Ranger's `[[expr,'sep']]` edits and macros (IS_IN_GROUP, HAS_TAG, …) are applied.
 *
 * @throws ExpressionError naming the rejected construct and its offset.
 */
export function compileExpression(source: string): CompiledExpression {
  const edited = replaceDoubleBrackets(source);
  const stmts = parseScript(edited);
  const compiler = new Compiler(edited);
  compiler.collectLocals(stmts);
  const run = compiler.program(stmts) as (scope: unknown) => unknown;
  return Object.freeze({ source, warnings: compiler.warnings, variables: compiler.variables, run });
}

/** Write-time validation: the rejected construct as an error, unknown variables as warnings. */
export function validateExpression(source: string): ExpressionValidation {
  try {
    return { errors: [], warnings: [...compileExpression(source).warnings] };
  } catch (e) {
    if (e instanceof ExpressionError) {
      const message = e.message.replace(/ at \d+$/, "");
      return { errors: [{ message, position: e.position }], warnings: [] };
    }
    throw e;
  }
}

function run(compiled: CompiledExpression, scope: Scope): unknown {
  try {
    return compiled.run(scope);
  } catch (e) {
    if (e instanceof ExpressionRuntimeError) throw e;
    // a JavaScript error raised by an allow-listed operation (e.g. a bad argument)
    throw new ExpressionRuntimeError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Evaluates a compiled script and returns its completion value (what Ranger's script engine
 * returns from `eval`).
 *
 * @throws ExpressionRuntimeError when the script fails (unknown variable, step limit, ...).
 */
export function evaluate(compiled: CompiledExpression, env: ExpressionEnv, options?: EvaluateOptions): unknown {
  const opts = options ?? NO_OPTIONS;
  const scope = new Scope(env, opts, derivedFor(env, opts));
  return run(compiled, scope);
}

/**
 * Ranger's script-condition semantic (RangerScriptConditionEvaluator#isMatched with
 * RangerRequestScriptEvaluator#evaluateConditionScript): a blank script matches; otherwise a
 * boolean completion value decides, anything else (including a failure) leaves `ctx.result`
 * (default false) to decide. Never throws.
 */
export function evaluateCondition(
  compiled: CompiledExpression,
  env: ExpressionEnv,
  options?: EvaluateOptions,
): boolean {
  if (compiled.source.trim() === "") return true;
  const opts = options ?? NO_OPTIONS;
  const scope = new Scope(env, opts, derivedFor(env, opts));
  let v: unknown;
  try {
    v = run(compiled, scope);
  } catch {
    v = null;
  }
  return typeof v === "boolean" ? v : scope.result;
}
