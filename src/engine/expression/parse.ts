/**
 * Statement layer over jsep. jsep parses expressions only; Ranger scripts also use `var`,
 * `if`/`else`, blocks, `;`-separated statements and assignments to `ctx.result` or locals.
 * This module splits the text into those statements (respecting strings, brackets and a
 * simplified automatic-semicolon rule) and hands each expression to jsep.
 */
import jsep from "jsep";
import { ExpressionError } from "./errors.ts";

/** A jsep node, with `start` (offset into the script) where known. */
export type Node = jsep.Expression & { start?: number };

export type Statement =
  | { kind: "expr"; expr: Node; pos: number }
  | { kind: "assign"; target: AssignTarget; value: Statement; pos: number }
  | { kind: "var"; decls: { name: string; init?: Statement; pos: number }[]; pos: number }
  | { kind: "if"; test: Node; then: Statement; else?: Statement; pos: number }
  | { kind: "block"; body: Statement[]; pos: number }
  | { kind: "empty"; pos: number };

export type AssignTarget = { kind: "local"; name: string } | { kind: "ctxResult" };

/** Statements the subset leaves out, with the message naming them. */
const STATEMENT_KEYWORDS: Record<string, string> = {
  for: "`for` loops are not allowed",
  while: "`while` loops are not allowed",
  do: "`do` loops are not allowed",
  switch: "`switch` statements are not allowed",
  try: "`try` statements are not allowed",
  catch: "`catch` is not allowed",
  finally: "`finally` is not allowed",
  throw: "`throw` statements are not allowed",
  return: "`return` statements are not allowed",
  break: "`break` is not allowed",
  continue: "`continue` is not allowed",
  with: "`with` statements are not allowed",
  debugger: "`debugger` is not allowed",
  function: "functions are not allowed",
  class: "classes are not allowed",
  import: "`import` is not allowed",
  export: "`export` is not allowed",
};

/** Keywords rejected wherever they appear as a word outside strings. */
const WORD_ERRORS: Record<string, string> = {
  ...STATEMENT_KEYWORDS,
  new: "`new` expressions are not allowed",
  this: "`this` is not allowed",
  delete: "`delete` is not allowed",
  typeof: "`typeof` is not allowed",
  void: "`void` is not allowed",
  instanceof: "`instanceof` is not allowed",
  in: "the `in` operator is not allowed",
  yield: "`yield` is not allowed",
  await: "`await` is not allowed",
  async: "`async` is not allowed",
  super: "`super` is not allowed",
  arguments: "`arguments` is not allowed",
  // prototype walking and meta-programming
  __proto__: "access to `__proto__` is not allowed",
  constructor: "access to `constructor` is not allowed",
  prototype: "access to `prototype` is not allowed",
  __defineGetter__: "access to `__defineGetter__` is not allowed",
  __defineSetter__: "access to `__defineSetter__` is not allowed",
  __lookupGetter__: "access to `__lookupGetter__` is not allowed",
  __lookupSetter__: "access to `__lookupSetter__` is not allowed",
  caller: "access to `caller` is not allowed",
  callee: "access to `callee` is not allowed",
};

/** Host globals rejected as free variables (never defined in the script scope anyway). */
const FORBIDDEN_GLOBALS = new Set([
  "eval",
  "Function",
  "globalThis",
  "global",
  "window",
  "self",
  "process",
  "require",
  "module",
  "exports",
  "Java",
  "Packages",
  "java",
  "javax",
  "jdk",
  "com",
  "org",
  "load",
  "loadWithNewGlobal",
  "Polyglot",
  "Graal",
  "Reflect",
  "Proxy",
  "Object",
  "Symbol",
  "WebAssembly",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "fetch",
  "XMLHttpRequest",
  "importScripts",
  "Buffer",
  "Atomics",
  "SharedArrayBuffer",
  "Promise",
  "Deno",
  "Bun",
  "exit",
  "quit",
  "print",
  "console",
  "Error",
  "RegExp",
  "Date",
  "Array",
]);

const isIdStart = (c: string) => /[A-Za-z_$]/.test(c);
const isIdPart = (c: string) => /[A-Za-z0-9_$]/.test(c);

/**
 * Ranger's JavaScriptEdits#replaceDoubleBrackets: `[[expr]]` ⇒ `expr.split(",")`,
 * `[[expr,'sep']]` ⇒ `expr.split("sep")`.
 */
export function replaceDoubleBrackets(source: string): string {
  if (!source.includes("[[") || !source.includes("]]")) return source;
  let ret = source;
  for (const m of source.matchAll(/\[\[([}{$"a-zA-Z0-9_.[\]]+)(,['"](.+?)['"])*\]\]/g)) {
    const delimiter = m[3] ?? ",";
    ret = ret.replaceAll(m[0], `${m[1]}.split("${delimiter}")`);
  }
  return ret;
}

/** Blanks comments (keeping offsets), checks words and characters outside strings. */
function prescan(src: string): string {
  const out = src.split("");
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "'" || c === '"') {
      i = skipString(src, i);
      continue;
    }
    if (c === "`") throw new ExpressionError("template literals are not allowed", i);
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") out[i++] = " ";
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new ExpressionError("unterminated comment", i);
      for (; i < end + 2; i++) if (out[i] !== "\n") out[i] = " ";
      continue;
    }
    if (c === "=" && src[i + 1] === ">") throw new ExpressionError("arrow functions are not allowed", i);
    if (isIdStart(c) && (i === 0 || !isIdPart(src[i - 1]))) {
      let j = i;
      while (j < src.length && isIdPart(src[j])) j++;
      const word = src.slice(i, j);
      const afterDot = /\.\s*$/.test(src.slice(Math.max(0, i - 8), i)) && !/\.\.\.\s*$/.test(src.slice(0, i));
      if (Object.hasOwn(WORD_ERRORS, word)) throw new ExpressionError(WORD_ERRORS[word], i);
      if (!afterDot && FORBIDDEN_GLOBALS.has(word)) throw new ExpressionError(`\`${word}\` is not available`, i);
      i = j;
      continue;
    }
    if (c === "." && src[i + 1] === "." && src[i + 2] === ".")
      throw new ExpressionError("spread `...` is not allowed", i);
    i++;
  }
  return out.join("");
}

/** Index just past the string literal starting at `i`. */
function skipString(src: string, i: number): number {
  const q = src[i];
  let j = i + 1;
  while (j < src.length && src[j] !== q) {
    if (src[j] === "\\") j++;
    if (src[j] === "\n") throw new ExpressionError("unterminated string", i);
    j++;
  }
  if (j >= src.length) throw new ExpressionError("unterminated string", i);
  return j + 1;
}

// jsep keeps no positions; these hooks record the start offset of token-level nodes while we parse.
let activeParse = false;
const starts: number[] = [];
jsep.hooks.add("gobble-token", function (this: jsep.HookScope) {
  if (!activeParse) return;
  const c = this.code;
  // numeric literals leave gobbleToken without running after-token
  if (!(c >= 48 && c <= 57) && c !== 46) starts.push(this.index);
});
jsep.hooks.add("after-token", (env: { node?: jsep.Expression | false }) => {
  if (!activeParse) return;
  const start = starts.pop();
  const node = env.node as Node | false | undefined;
  if (node && start !== undefined && node.start === undefined) node.start = start;
});

function offsetNodes(node: Node, offset: number): void {
  if (typeof node.start === "number") node.start += offset;
  for (const v of Object.values(node)) {
    if (Array.isArray(v)) for (const x of v) if (x && typeof x === "object") offsetNodes(x as Node, offset);
    if (v && typeof v === "object" && !Array.isArray(v) && typeof (v as Node).type === "string") {
      offsetNodes(v as Node, offset);
    }
  }
}

class StatementParser {
  private readonly src: string;
  private i = 0;

  constructor(src: string) {
    this.src = src;
  }

  parseProgram(): Statement[] {
    const body: Statement[] = [];
    for (this.ws(); this.i < this.src.length; this.ws()) {
      if (this.src[this.i] === "}") throw new ExpressionError("unexpected `}`", this.i);
      body.push(this.statement());
    }
    return body;
  }

  private ws(): void {
    while (this.i < this.src.length && /\s/.test(this.src[this.i])) this.i++;
  }

  private wordAt(i: number): string {
    if (!isIdStart(this.src[i] ?? "")) return "";
    let j = i;
    while (j < this.src.length && isIdPart(this.src[j])) j++;
    return this.src.slice(i, j);
  }

  private statement(): Statement {
    this.ws();
    const pos = this.i;
    const c = this.src[pos];
    if (c === ";") {
      this.i++;
      return { kind: "empty", pos };
    }
    if (c === "{") {
      this.i++;
      const body: Statement[] = [];
      for (this.ws(); this.src[this.i] !== "}"; this.ws()) {
        if (this.i >= this.src.length) throw new ExpressionError("missing `}`", pos);
        body.push(this.statement());
      }
      this.i++;
      return { kind: "block", body, pos };
    }
    const word = this.wordAt(pos);
    if (word === "if") {
      this.i += 2;
      this.ws();
      if (this.src[this.i] !== "(") throw new ExpressionError("expected `(` after `if`", this.i);
      const close = this.matching(this.i);
      const test = this.expression(this.i + 1, close);
      this.i = close + 1;
      const then = this.statement();
      this.ws();
      let otherwise: Statement | undefined;
      if (this.wordAt(this.i) === "else") {
        this.i += 4;
        otherwise = this.statement();
      }
      return { kind: "if", test, then, else: otherwise, pos };
    }
    if (word === "else") throw new ExpressionError("`else` without `if`", pos);
    if (word === "var" || word === "let" || word === "const") {
      this.i += word.length;
      const end = this.statementEnd(this.i);
      const decls: { name: string; init?: Statement; pos: number }[] = [];
      for (const [from, to] of this.splitTopLevel(this.i, end, ",")) {
        let k = from;
        while (k < to && /\s/.test(this.src[k])) k++;
        const name = this.wordAt(k);
        if (!name) throw new ExpressionError(`expected a variable name after \`${word}\``, k);
        let rest = k + name.length;
        while (rest < to && /\s/.test(this.src[rest])) rest++;
        if (rest === to) decls.push({ name, pos: k });
        else if (this.src[rest] === "=" && this.src[rest + 1] !== "=") {
          decls.push({ name, init: this.exprOrAssign(rest + 1, to), pos: k });
        } else throw new ExpressionError(`unexpected \`${this.src[rest]}\` in declaration`, rest);
      }
      this.finish(end);
      return { kind: "var", decls, pos };
    }
    const end = this.statementEnd(pos);
    if (end === pos) throw new ExpressionError(`unexpected \`${this.src[pos]}\``, pos);
    const stmt = this.exprOrAssign(pos, end);
    this.finish(end);
    return stmt;
  }

  /** Consumes the terminating `;` if there is one. */
  private finish(end: number): void {
    this.i = end;
    if (this.src[this.i] === ";") this.i++;
  }

  /** Offset of the matching close bracket for the open bracket at `open`. */
  private matching(open: number): number {
    const pairs: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
    const stack: string[] = [];
    for (let j = open; j < this.src.length; ) {
      const c = this.src[j];
      if (c === "'" || c === '"') {
        j = skipString(this.src, j);
        continue;
      }
      if (pairs[c]) stack.push(pairs[c]);
      else if (c === ")" || c === "]" || c === "}") {
        if (stack.pop() !== c) throw new ExpressionError(`unexpected \`${c}\``, j);
        if (stack.length === 0) return j;
      }
      j++;
    }
    throw new ExpressionError(`missing \`${pairs[this.src[open]]}\``, open);
  }

  /**
   * Index just past the string literal or bracketed group starting at `j`, or -1 when `j` starts
   * neither: the scanners below look only at top-level characters.
   */
  private pastNested(j: number): number {
    const c = this.src[j];
    if (c === "'" || c === '"') return skipString(this.src, j);
    if (c === "(" || c === "[" || c === "{") return this.matching(j) + 1;
    return -1;
  }

  /**
   * End of the statement starting at `from`: a top-level `;` or `}`, the end of input, or a
   * line break between two complete expressions (the common case of automatic semicolons).
   */
  private statementEnd(from: number): number {
    let j = from;
    while (j < this.src.length) {
      const c = this.src[j];
      const past = this.pastNested(j);
      if (past >= 0) {
        j = past;
        continue;
      }
      if (c === ";" || c === "}" || c === ")" || c === "]") return j;
      if (c === "\n") {
        const before = this.src.slice(from, j).trimEnd();
        let k = j;
        while (k < this.src.length && /\s/.test(this.src[k])) k++;
        const next = this.src[k] ?? "";
        const endsValue = /[A-Za-z0-9_$'")\]]$/.test(before);
        const startsValue = isIdStart(next) || /[0-9'"!]/.test(next);
        const nextWord = this.wordAt(k);
        if (endsValue && startsValue && nextWord !== "instanceof") return j;
      }
      j++;
    }
    return j;
  }

  /** Top-level (bracket depth 0, outside strings) pieces of [from, to) split on `sep`. */
  private splitTopLevel(from: number, to: number, sep: string): [number, number][] {
    const parts: [number, number][] = [];
    let start = from;
    for (let j = from; j < to; ) {
      const c = this.src[j];
      const past = this.pastNested(j);
      if (past >= 0) {
        j = past;
        continue;
      }
      if (c === sep) {
        parts.push([start, j]);
        start = j + 1;
      }
      j++;
    }
    parts.push([start, to]);
    return parts;
  }

  /** `target = value` (right-associative chains) or a plain expression. */
  private exprOrAssign(from: number, to: number): Statement {
    const eq = this.findAssignment(from, to);
    if (eq < 0) return { kind: "expr", expr: this.expression(from, to), pos: from };
    const target = this.assignTarget(from, eq);
    return { kind: "assign", target, value: this.exprOrAssign(eq + 1, to), pos: from };
  }

  private findAssignment(from: number, to: number): number {
    for (let j = from; j < to; ) {
      const c = this.src[j];
      const past = this.pastNested(j);
      if (past >= 0) {
        j = past;
        continue;
      }
      if (c === "=") {
        const prev = this.src[j - 1] ?? "";
        const next = this.src[j + 1] ?? "";
        if (next === "=") {
          j += this.src[j + 2] === "=" ? 3 : 2;
          continue;
        }
        if (prev === "!" || prev === "=") {
          j++;
          continue;
        }
        if (prev === "<" || prev === ">") {
          // `<=`/`>=` compare; `<<=`, `>>=`, `>>>=` assign
          if (this.src[j - 2] === prev)
            throw new ExpressionError(`compound assignment \`${prev}${prev}=\` is not allowed`, j - 2);
          j++;
          continue;
        }
        if ("+-*/%&|^?".includes(prev) && prev !== "") {
          throw new ExpressionError(`compound assignment \`${prev}=\` is not allowed`, j - 1);
        }
        return j;
      }
      j++;
    }
    return -1;
  }

  private assignTarget(from: number, to: number): AssignTarget {
    const text = this.src.slice(from, to).trim();
    const pos = from + (this.src.slice(from, to).length - this.src.slice(from, to).trimStart().length);
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(text)) return { kind: "local", name: text };
    if (/^ctx\s*\.\s*result$/.test(text)) return { kind: "ctxResult" };
    throw new ExpressionError(
      `assignment to \`${text}\` is not allowed (only \`ctx.result\` and local variables)`,
      pos,
    );
  }

  /** Parses [from, to) with jsep into one expression node. */
  expression(from: number, to: number): Node {
    const text = this.src.slice(from, to);
    if (text.trim() === "") throw new ExpressionError("expected an expression", from);
    let node: Node;
    activeParse = true;
    starts.length = 0;
    try {
      node = jsep(text) as Node;
    } catch (e) {
      const err = e as { index?: number; description?: string; message?: string };
      const at = from + (typeof err.index === "number" ? err.index : 0);
      const near = this.src[at] === "=" ? "assignment is only allowed as a statement" : undefined;
      throw new ExpressionError(near ?? `syntax error: ${(err.description ?? err.message ?? "").toLowerCase()}`, at);
    } finally {
      activeParse = false;
    }
    offsetNodes(node, from);
    if (node.type === "Compound") {
      const body = (node as jsep.Compound).body as Node[];
      const second = body[1]?.start ?? from;
      throw new ExpressionError("unexpected expression (separate statements with `;`)", second);
    }
    return node;
  }
}

/** Parses a whole script into statements. @throws ExpressionError */
export function parseScript(source: string): Statement[] {
  const prepared = prescan(source);
  return new StatementParser(prepared).parseProgram();
}
