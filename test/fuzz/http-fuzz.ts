import { randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { mulberry32 } from "../support/seeded-random.ts";

/**
 * An HTTP fuzzer for a listening Gatehouse: it reads the app's OpenAPI document, builds a
 * plausible request for every operation, then breaks it in the ways issue #13 lists (wrong types,
 * NUL, lone surrogates, invalid UTF-8 bytes, deep nesting, huge strings and arrays, wrong content
 * types, bad path and query parameters) and sends the raw bytes over a real socket. Seeded: the
 * same seed sends the same requests. Used by `http-fuzz.test.ts` (a few hundred per family, in
 * `npm test`) and `npm run fuzz:http` (thousands, with a report).
 */

/** Route families: each reproduces one product's API (or the native one) with its own error shape. */
export const FAMILIES = {
  native: (path: string) => path.startsWith("/v1/"),
  nx1: (path: string) => path.startsWith("/api/"),
  frontier: (path: string) => path.startsWith("/v1beta1/"),
  puppet: (path: string) => path.startsWith("/rbac-api/"),
  aria: (path: string) => path.startsWith("/suite-api/"),
  ranger: (path: string) => path.startsWith("/service/"),
} as const;

export type Family = keyof typeof FAMILIES;

type Schema = Record<string, unknown>;

/** One operation of the OpenAPI document. */
export interface Operation {
  method: string;
  path: string;
  family: Family;
  pathParams: { name: string; schema: Schema }[];
  queryParams: { name: string; schema: Schema; required: boolean }[];
  body: Schema | null;
}

/** One request as sent: the raw bytes of its body and the headers, exactly. */
export interface RawRequest {
  kind: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Larger than the server's body limit: a 413 or a closed connection are both acceptable. */
  overLimit?: boolean;
}

/** What came back. */
export interface Outcome {
  request: RawRequest;
  status: number;
  ms: number;
  /** Socket error code when there was no response (ECONNRESET, EPIPE, timeout). */
  error?: string;
}

/** The operations of an OpenAPI document, grouped by family (routes of no family are skipped). */
export function operationsOf(doc: Schema): Operation[] {
  const out: Operation[] = [];
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Schema>>;
  for (const [path, item] of Object.entries(paths)) {
    const family = (Object.keys(FAMILIES) as Family[]).find((f) => FAMILIES[f](path));
    if (!family) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const params = (op.parameters ?? []) as { in: string; name: string; schema?: Schema; required?: boolean }[];
      const content = ((op.requestBody as Schema | undefined)?.content ?? {}) as Record<string, { schema?: Schema }>;
      const body = content["application/json"]?.schema ?? null;
      out.push({
        method: method.toUpperCase(),
        path,
        family,
        pathParams: params.filter((p) => p.in === "path").map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        queryParams: params
          .filter((p) => p.in === "query")
          .map((p) => ({ name: p.name, schema: p.schema ?? {}, required: p.required === true })),
        body: body ? resolve(doc, body) : null,
      });
    }
  }
  return out;
}

function resolve(doc: Schema, schema: Schema, seen = 0): Schema {
  const ref = schema.$ref;
  if (typeof ref === "string" && ref.startsWith("#/") && seen < 20) {
    let target: unknown = doc;
    for (const part of ref.slice(2).split("/")) target = (target as Schema)?.[part];
    return resolve(doc, (target ?? {}) as Schema, seen + 1);
  }
  return schema;
}

type Rng = () => number;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

/** A plausible value for a schema: required fields filled, optional ones sometimes. */
function sample(doc: Schema, raw: Schema, rng: Rng, depth = 0): unknown {
  if (raw === null || typeof raw !== "object") return "fuzz";
  const schema = resolve(doc, raw);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return pick(rng, schema.enum);
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union && union.length > 0) return sample(doc, pick(rng, union), rng, depth + 1);
  if (Array.isArray(schema.allOf)) return sample(doc, schema.allOf[0] as Schema, rng, depth + 1);
  const type = Array.isArray(schema.type) ? pick(rng, schema.type as string[]) : schema.type;
  switch (type) {
    case "string":
      if (schema.format === "uuid") return randomUUID();
      if (schema.format === "date-time") return new Date(0).toISOString();
      return `fuzz${Math.floor(rng() * 1e6)}`;
    case "integer":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "number":
      return 1.5;
    case "boolean":
      return rng() < 0.5;
    case "null":
      return null;
    case "array":
      return depth > 6 ? [] : [sample(doc, (schema.items ?? {}) as Schema, rng, depth + 1)];
    default: {
      if (depth > 6) return {};
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(props)) {
        if (required.has(name) || rng() < 0.5) out[name] = sample(doc, sub, rng, depth + 1);
      }
      return out;
    }
  }
}

/** Paths to every value inside a sampled body (the root included, as `[]`). */
function slots(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      slots(v, [...at, i], out);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) slots(v, [...at, k], out);
  }
  return out;
}

function setAt(root: unknown, at: (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[at[at.length - 1] as string | number] = value;
  return copy;
}

/** A slot to break: a leaf when there is one, else a new field on the root object. */
function target(rng: Rng, body: unknown): { body: unknown; at: (string | number)[] } {
  const all = slots(body).filter((s) => s.length > 0);
  if (all.length > 0) return { body, at: pick(rng, all) };
  if (body !== null && typeof body === "object" && !Array.isArray(body)) return { body, at: ["fuzz"] };
  return { body, at: [] };
}

const MARK = "\u0001MARK\u0001";
const MARK_JSON = JSON.stringify(MARK);

/** JSON of `body` with the value at `at` replaced by raw bytes (the only way to send invalid UTF-8 or deep text). */
function withRaw(rng: Rng, body: unknown, raw: Buffer): Buffer {
  const { body: b, at } = target(rng, body);
  const text = JSON.stringify(setAt(b, at, MARK));
  const [head, tail] = [text.slice(0, text.indexOf(MARK_JSON)), text.slice(text.indexOf(MARK_JSON) + MARK_JSON.length)];
  return Buffer.concat([Buffer.from(head), raw, Buffer.from(tail)]);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const WRONG_TYPES: unknown[] = [5, true, ["arr"], {}, null, "str", 1.5, [[]], -1, 1e308];
const BAD_PARAMS = [
  "%00",
  "a%00b",
  "%ED%A0%80",
  "%FF",
  "%C3%28",
  "%zz",
  "..%2F..%2Fpackage.json",
  "-1",
  "99999999999999999999",
  "x".repeat(5000),
  "%E2%80%AE",
  "%20",
];

/** The request kinds, each a way to break a request. */
export const KINDS = [
  "wrongType",
  "nul",
  "loneSurrogate",
  "invalidUtf8",
  "deep",
  "hugeString",
  "hugeArray",
  "contentType",
  "malformedJson",
  "rootType",
  "badKey",
  "badPathParam",
  "badQuery",
] as const;

/** Builds one broken request for an operation. */
export function breakRequest(doc: Schema, op: Operation, rng: Rng, bodyLimit: number): RawRequest {
  const bodyKinds = op.body
    ? KINDS
    : KINDS.filter((k) => k === "badPathParam" || k === "badQuery" || k === "contentType");
  let kind: string = pick(rng, bodyKinds);
  if (kind === "badPathParam" && op.pathParams.length === 0) kind = op.body ? "nul" : "badQuery";
  const params: Record<string, string> = {};
  for (const p of op.pathParams) params[p.name] = encodeURIComponent(String(sample(doc, p.schema, rng)));
  const query: string[] = [];
  for (const q of op.queryParams) {
    if (q.required || rng() < 0.3) query.push(`${q.name}=${encodeURIComponent(String(sample(doc, q.schema, rng)))}`);
  }
  const headers: Record<string, string> = {};
  let body: Buffer | undefined;
  let overLimit = false;
  const plain = op.body ? sample(doc, op.body, rng) : undefined;
  if (plain !== undefined) {
    body = json(plain);
    headers["content-type"] = "application/json";
  }
  switch (kind) {
    case "wrongType": {
      const { body: b, at } = target(rng, plain);
      body = json(setAt(b, at, pick(rng, WRONG_TYPES)));
      break;
    }
    case "nul": {
      const { body: b, at } = target(rng, plain);
      body = json(setAt(b, at, pick(rng, ["\u0000", "a\u0000b", "fuzz\u0000"])));
      break;
    }
    case "loneSurrogate": {
      const { body: b, at } = target(rng, plain);
      body = json(setAt(b, at, pick(rng, ["\ud800", "a\udfffb", "\udc00\ud800"])));
      break;
    }
    case "invalidUtf8":
      body = withRaw(rng, plain, Buffer.from([0x22, 0x61, pick(rng, [0xff, 0xc3, 0xed, 0x80]), 0x28, 0x22]));
      break;
    case "deep": {
      const n = pick(rng, [40, 1000, 5000, 20000]);
      const [open, close] = rng() < 0.5 ? ["[", "]"] : ['{"a":', "}"];
      body = withRaw(rng, plain, Buffer.from(`${open.repeat(n)}1${close.repeat(n)}`));
      break;
    }
    case "hugeString": {
      overLimit = rng() < 0.15;
      const n = overLimit ? bodyLimit + 1024 : pick(rng, [300, 3000, 5000, 100_000, Math.floor(bodyLimit * 0.9)]);
      const unit = pick(rng, ["x", "é", "😀"]);
      body = withRaw(rng, plain, Buffer.from(JSON.stringify(unit.repeat(Math.ceil(n / Buffer.byteLength(unit))))));
      break;
    }
    case "hugeArray": {
      const n = pick(rng, [1000, 10_000, 100_000]);
      const item = pick(rng, ['"a"', "1", "{}", "[]", "null"]);
      body = withRaw(rng, plain, Buffer.from(`[${Array(n).fill(item).join(",")}]`));
      break;
    }
    case "contentType": {
      const type = pick(rng, [
        "text/plain",
        "application/xml",
        "",
        "application/json; charset=latin1",
        "none",
        "multipart/form-data",
      ]);
      body ??= json({ fuzz: 1 });
      if (type === "none") delete headers["content-type"];
      else headers["content-type"] = type;
      break;
    }
    case "malformedJson":
      body = Buffer.from(pick(rng, ["{", '{"a":', "nul", "[1,]", '{"a" 1}', "\u0000", "{}}"]));
      break;
    case "rootType":
      body = Buffer.from(pick(rng, ["[]", '"str"', "5", "null", "true", "[{}]"]));
      break;
    case "badKey": {
      const key = pick(rng, ["a\u0000b", "\ud800", "__proto__", "constructor", "", "x".repeat(10_000)]);
      const base = plain !== null && typeof plain === "object" && !Array.isArray(plain) ? plain : {};
      body = Buffer.from(JSON.stringify({ ...base, [MARK]: 1 }).replace(MARK_JSON, JSON.stringify(key)));
      break;
    }
    case "badPathParam": {
      const p = pick(rng, op.pathParams);
      params[p.name] = pick(rng, BAD_PARAMS);
      break;
    }
    case "badQuery": {
      const name = op.queryParams.length > 0 && rng() < 0.8 ? pick(rng, op.queryParams).name : "fuzz";
      query.push(`${name}=${pick(rng, BAD_PARAMS)}`);
      break;
    }
  }
  if (body !== undefined && !headers["content-type"] && kind !== "contentType")
    headers["content-type"] = "application/json";
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => params[name] ?? "x");
  return {
    kind,
    method: op.method,
    url: query.length > 0 ? `${path}?${query.join("&")}` : path,
    headers,
    ...(body ? { body } : {}),
    overLimit: overLimit || (body?.length ?? 0) > bodyLimit,
  };
}

/** Path traversal and odd paths under the interactive reference's static files (native family). */
export const DOCS_PATHS = [
  "/docs/static/../../package.json",
  "/docs/static/%2e%2e/%2e%2e/package.json",
  "/docs/static/..%2f..%2fpackage.json",
  "/docs/static/%00",
  "/docs/static/%ED%A0%80",
  "/docs/static/%FF",
];

/** Sends one raw request over a keep-alive agent; never rejects. */
export function send(port: number, agent: Agent, req: RawRequest, auth: Record<string, string>): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolveOutcome) => {
    const headers: Record<string, string | number> = { ...auth, ...req.headers };
    if (req.body) headers["content-length"] = req.body.length;
    const r = httpRequest({ host: "127.0.0.1", port, method: req.method, path: req.url, headers, agent }, (res) => {
      res.resume();
      res.on("end", () =>
        resolveOutcome({ request: req, status: res.statusCode ?? 0, ms: performance.now() - started }),
      );
      res.on("error", (err: NodeJS.ErrnoException) =>
        resolveOutcome({ request: req, status: 0, ms: performance.now() - started, error: err.code ?? err.message }),
      );
    });
    r.setTimeout(30_000, () => r.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    r.on("error", (err: NodeJS.ErrnoException) =>
      resolveOutcome({ request: req, status: 0, ms: performance.now() - started, error: err.code ?? err.message }),
    );
    r.end(req.body);
  });
}

/** A family's run: counts and the worst cases. */
export interface FamilyReport {
  family: Family;
  requests: number;
  serverErrors: Outcome[];
  /** Connection failures other than on an over-limit body. */
  resets: Outcome[];
  slowest: Outcome | null;
  byKind: Record<string, number>;
  healthProbes: number;
  healthFailures: number;
  healthSlowestMs: number;
  rssBefore: number;
  rssAfter: number;
}

/** Polls `/healthz` while a family runs, to see whether any input stalls the server. */
function healthProbe(port: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let probes = 0;
  let failures = 0;
  let slowest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const out = await send(port, agent, { kind: "health", method: "GET", url: "/healthz", headers: {} }, {});
      probes++;
      if (out.status !== 200) failures++;
      slowest = Math.max(slowest, out.ms);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return async () => {
    running = false;
    await loop;
    agent.destroy();
    return { probes, failures, slowest };
  };
}

/** Runs `count` broken requests against each family's operations. */
export async function fuzzFamily(opts: {
  port: number;
  doc: Schema;
  family: Family;
  count: number;
  seed: number;
  bodyLimit: number;
  auth: Record<string, string>;
  concurrency?: number;
}): Promise<FamilyReport> {
  const rng = mulberry32(opts.seed);
  const ops = operationsOf(opts.doc).filter((o) => o.family === opts.family);
  if (ops.length === 0) throw new Error(`no operations in family ${opts.family}`);
  const requests: RawRequest[] = [];
  for (let i = 0; i < opts.count; i++) {
    if (opts.family === "native" && i % 50 === 0) {
      requests.push({ kind: "docsPath", method: "GET", url: pick(rng, DOCS_PATHS), headers: {} });
      continue;
    }
    requests.push(breakRequest(opts.doc, pick(rng, ops), rng, opts.bodyLimit));
  }
  const rssBefore = process.memoryUsage().rss;
  const stopProbe = healthProbe(opts.port);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 2 });
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency ?? 2 }, async () => {
      while (next < requests.length) {
        const req = requests[next++] as RawRequest;
        outcomes.push(await send(opts.port, agent, req, opts.auth));
      }
    }),
  );
  agent.destroy();
  const health = await stopProbe();
  const byKind: Record<string, number> = {};
  for (const o of outcomes) byKind[o.request.kind] = (byKind[o.request.kind] ?? 0) + 1;
  return {
    family: opts.family,
    requests: outcomes.length,
    // 501 is a deliberate answer (an operation or field documented as not served), not a fault
    serverErrors: outcomes.filter((o) => o.status >= 500 && o.status !== 501),
    resets: outcomes.filter((o) => o.status === 0 && !o.request.overLimit),
    slowest: outcomes.reduce<Outcome | null>((a, o) => (a === null || o.ms > a.ms ? o : a), null),
    byKind,
    healthProbes: health.probes,
    healthFailures: health.failures,
    healthSlowestMs: health.slowest,
    rssBefore,
    rssAfter: process.memoryUsage().rss,
  };
}

/** One line describing a request, for failure messages (bodies cut to 120 bytes). */
export function describe(o: Outcome): string {
  const body = o.request.body ? o.request.body.subarray(0, 120).toString("latin1") : "";
  return `${o.request.kind} ${o.request.method} ${o.request.url.slice(0, 160)} [${o.request.headers["content-type"] ?? "-"}] → ${o.status || o.error} ${body}`;
}
