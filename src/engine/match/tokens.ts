/**
 * `{TOKEN}` replacement in policy resource values (Ranger's `StringTokenReplacer`): `{USER}` becomes
 * the context's `token:USER`, etc. An escape char before a delimiter or itself makes it literal;
 * tokens missing from the context are left in place verbatim, so the value then matches literally.
 */
export interface TokenSyntax {
  readonly start: string;
  readonly end: string;
  readonly escape: string;
  readonly prefix: string;
}

export const DEFAULT_TOKEN_SYNTAX: TokenSyntax = { start: "{", end: "}", escape: "\\", prefix: "" };

/**
 * True when `value` needs token processing: it contains the escape char (escapes are removed by
 * replacement, as in Ranger's `StringTokenReplacer.hasToken`) or an unescaped token start
 * delimiter followed later by an end delimiter.
 */
export function hasToken(value: string, syntax: TokenSyntax): boolean {
  if (value.includes(syntax.escape)) return true;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === syntax.escape) {
      i++;
      continue;
    }
    if (c === syntax.start) return value.indexOf(syntax.end, i + 1) > i;
  }
  return false;
}

/** Replaces tokens using `lookup(name)`; `undefined` from lookup keeps the token text. */
export function replaceTokens(value: string, syntax: TokenSyntax, lookup: (name: string) => unknown): string {
  let out = "";
  let i = 0;
  const n = value.length;
  while (i < n) {
    const c = value[i];
    if (c === syntax.escape && i + 1 < n) {
      const next = value[i + 1];
      if (next === syntax.escape || next === syntax.start || next === syntax.end) {
        out += next;
        i += 2;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (c === syntax.start) {
      const close = findEnd(value, i + 1, syntax);
      if (close < 0) {
        out += value.slice(i);
        break;
      }
      const raw = value.slice(i + 1, close);
      let name = raw;
      let known = true;
      if (syntax.prefix) {
        if (name.startsWith(syntax.prefix)) name = name.slice(syntax.prefix.length);
        else known = false;
      }
      const replacement = known ? lookup(name) : undefined;
      out += replacement === undefined || replacement === null ? value.slice(i, close + 1) : String(replacement);
      i = close + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function findEnd(value: string, from: number, syntax: TokenSyntax): number {
  for (let j = from; j < value.length; j++) {
    const c = value[j];
    if (c === syntax.escape) {
      j++;
      continue;
    }
    if (c === syntax.end) return j;
  }
  return -1;
}
