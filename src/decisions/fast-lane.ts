import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Ajv } from "ajv";
import * as ajvFormats from "ajv-formats";
import fastJson from "fast-json-stringify";
import type { TSchema } from "typebox";
import type { DecisionInput, DecisionOutput } from "./decide.ts";

/**
 * What the lane needs from the app; each piece is the one the Fastify route uses. `In` is the
 * route's parsed body, `Out` its answer and `Caller` what the credential check found; the
 * defaults are those of `POST /v1/decisions` (the Ranger PDP routes bring their own).
 */
export interface DecisionLaneDeps<In = DecisionInput & { service: string }, Out = DecisionOutput, Caller = unknown> {
  /** The route's path (default `/v1/decisions`). */
  path?: string;
  /**
   * The caller of a credential known without I/O (a cached or general credential, or one the
   * route trusts from the request head) that may use the route, or null (let Fastify answer).
   */
  authenticate(req: IncomingMessage): Caller | null;
  /** Seconds a client address must wait after failed authentications (0: none). */
  retryAfter(ip: string): number;
  /** The client's address as Fastify's `request.ip` gives it (the peer, or behind a trusted proxy). */
  clientAddress(req: IncomingMessage): string;
  /** The route's decision: synchronous when everything is cached. */
  decide(input: In, ctx: { ip: string; id: string; caller: Caller }): Out | Promise<Out>;
  /** The route's body schema and answer schema, compiled here with the route's own options. */
  bodySchema: TSchema;
  answerSchema: TSchema;
  /**
   * Writes an answer instead of the answer schema's serialiser, for a route whose `decide` builds
   * its answers from the schema's fields only (nothing else, no `undefined`), where the result is
   * the same text: `JSON.stringify` of large nested answers is faster, and its text is flat, while
   * fast-json-stringify's concatenation must be flattened again to be sent.
   */
  stringify?: (answer: Out) => string;
  /** Counts a response in the route's request metrics. */
  record(status: number, seconds: number): void;
  /** Answers a request through the whole Fastify pipeline (errors, odd bodies): `app.inject`. */
  replay(
    req: IncomingMessage,
    body: string | Buffer,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>;
  bodyLimit: number;
  log(err: unknown): void;
}

const DEFAULT_PATH = "/v1/decisions";
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Headers the HTTP layer owns; never copied from a replayed answer. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

/**
 * The hot path of `POST /v1/decisions`, answered by Node's HTTP server before Fastify's router,
 * hooks and reply pipeline: on this machine those cost about as much again as a decision itself
 * (docs/decisions.md, "Fast lane"). It takes only the common request, and does exactly what the
 * route does with it: the same credential check (`Authorization-PSK`: the general PSK or a cached
 * API key holding `decision.check`), the route's body schema compiled with Fastify's Ajv options,
 * the same decision function (directory resolution, engine, decision audit), the route's answer
 * schema for serialising, the request id header and the route's request metrics.
 *
 * Anything else goes to Fastify untouched, before the body is read: another method or path, a
 * query string, another content type or credential scheme, no content length or one over the
 * body limit, an `Idempotency-Key` or `Expect` header, a credential not in the cache, a client
 * address in authentication back-off. A request the lane has read but cannot answer as the route
 * would (malformed JSON, a body the schema rejects, an error while deciding) is replayed through
 * Fastify (`inject`), so errors keep one shape and one code path. Returns false when Fastify must
 * handle the request.
 */
/** The lane, with counts of what it did (tests and operators read them). */
export interface DecisionLane {
  (req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered by the lane, replayed through Fastify after reading, and left to Fastify. */
  readonly stats: { answered: number; replayed: number; passed: number };
}

export function createDecisionLane<In = DecisionInput & { service: string }, Out = DecisionOutput, Caller = unknown>(
  deps: DecisionLaneDeps<In, Out, Caller>,
): DecisionLane {
  const path = deps.path ?? DEFAULT_PATH;
  // Fastify's options for this app (app.ts), so the lane accepts exactly what the route accepts
  const ajv = new Ajv({
    removeAdditional: false,
    allErrors: true,
    coerceTypes: false,
    useDefaults: true,
    strict: false,
  });
  (ajvFormats.default as unknown as (a: Ajv) => void)(ajv);
  const validate = ajv.compile(deps.bodySchema);
  const serialize: (answer: Out) => string = deps.stringify ?? fastJson(deps.answerSchema as never);
  const stats = { answered: 0, replayed: 0, passed: 0 };
  const seconds = (started: number) => (performance.now() - started) / 1000;

  const send = (res: ServerResponse, id: string, started: number, payload: string) => {
    // encoded once: its length and the bytes written (a string is measured, then encoded again)
    const bytes = Buffer.from(payload, "utf8");
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": bytes.length,
      "x-request-id": id,
    });
    res.end(bytes);
    stats.answered++;
    deps.record(200, seconds(started));
  };

  const replay = (req: IncomingMessage, res: ServerResponse, body: string | Buffer, started: number) => {
    stats.replayed++;
    deps.replay(req, body).then(
      (answer) => {
        const headers: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(answer.headers))
          if (!HOP_BY_HOP.has(k)) headers[k] = v as OutgoingHttpHeaders[string];
        res.writeHead(answer.status, headers);
        res.end(answer.body);
        deps.record(answer.status, seconds(started));
      },
      (err) => {
        deps.log(err);
        res.destroy();
      },
    );
  };

  /**
   * The caller when the lane can answer the request as the route would, judged from its head
   * alone; null otherwise.
   */
  const takes = (req: IncomingMessage): Caller | null => {
    const h = req.headers;
    const type = h["content-type"];
    if (type !== "application/json" && type !== "application/json; charset=utf-8") return null;
    const length = Number(h["content-length"]);
    if (!(length > 0 && length <= deps.bodyLimit)) return null;
    if (h["idempotency-key"] !== undefined || h.expect !== undefined || h["transfer-encoding"] !== undefined)
      return null;
    if (deps.retryAfter(deps.clientAddress(req)) !== 0) return null;
    return deps.authenticate(req);
  };

  const serve = (req: IncomingMessage, res: ServerResponse, caller: Caller): void => {
    const started = performance.now();
    const ip = deps.clientAddress(req);
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    // a decision body nearly always arrives in one chunk: no string decoder, no concatenation
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.on("end", () => {
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      // Invalid UTF-8 is Fastify's 400 (http/input-guard.ts): replayed as the bytes that came, so
      // the body still matches its Content-Length
      if (!isUtf8(bytes)) return replay(req, res, bytes, started);
      const text = bytes.toString("utf8");
      // Fastify's parser refuses prototype-poisoning keys, and its input guard NUL characters and
      // lone surrogates (which JSON can only spell as `\u` escapes): such a body takes its path
      if (text.includes("__proto__") || text.includes("constructor") || text.includes("\\u")) {
        return replay(req, res, text, started);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return replay(req, res, text, started);
      }
      if (!validate(body)) return replay(req, res, text, started);
      let out: Out | Promise<Out>;
      try {
        out = deps.decide(body as In, { ip, id, caller });
      } catch {
        return replay(req, res, text, started);
      }
      if (out instanceof Promise) {
        out.then(
          (answer) => send(res, id, started, serialize(answer)),
          () => replay(req, res, text, started),
        );
      } else send(res, id, started, serialize(out));
    });
  };

  const lane = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || req.url !== path) return false;
    const caller = takes(req);
    if (caller === null) {
      stats.passed++;
      return false;
    }
    serve(req, res, caller);
    return true;
  };
  return Object.assign(lane, { stats });
}
