import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Loading Ranger test files: lenient JSON (Gson accepts `#` line comments, which
 * test_resourcematcher_path.json uses) and `--root` resolution of classpath-style references
 * such as `/policyengine/resourceTags.json`.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(stripHashComments(text));
  }
}

/** Removes Gson-lenient `#` comments (to end of line) outside string literals. */
export function stripHashComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[i + 1] ?? "";
        i++;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else out += c;
  }
  return out;
}

export function readJsonFile(path: string): unknown {
  return parseLenientJson(readFileSync(path, "utf8"));
}

/** Resolves a classpath reference (leading `/`) against the corpus root. */
export function resolveRef(root: string, ref: string): string {
  return join(root, ref.replace(/^\/+/, ""));
}

export function readText(path: string): string {
  return readFileSync(path, "utf8");
}

/** Parses Gson's `yyyyMMdd-HH:mm:ss.SSSZ` (e.g. `20180113-14:32:27.000-0800`) or ISO text. */
export function parseGsonDate(s: string | number | undefined): number | undefined {
  if (s === undefined || s === null) return undefined;
  if (typeof s === "number") return s;
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?\s*(?:([+-])-?(\d{2}):?(\d{2})|Z)?$/.exec(
    s.trim(),
  );
  if (m) {
    const [, y, mo, d, h, mi, se, ms, sign, oh, om] = m;
    let t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se, ms ? +ms.padEnd(3, "0") : 0);
    if (sign) {
      const off = (+oh * 60 + +om) * 60000;
      t = sign === "+" ? t - off : t + off;
    }
    return t;
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
