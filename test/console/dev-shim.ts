import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";

/**
 * TEMPORARY development shim, for tests only, until the server's own console routes (`src/console/`,
 * issue #17's other half) are merged: it serves `console/dist/` at `/console/` and implements the
 * session contract the console codes against (`POST/GET/DELETE /v1/console/session`, CSRF on unsafe
 * methods, `GET /v1/console/config`) in front of a real Gatehouse, forwarding every other request
 * with the session's key as `Authorization-PSK`. Delete it once the real routes exist.
 */

const DIST = new URL("../../console/dist/", import.meta.url).pathname;
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
};

interface ShimSession {
  key: string;
  csrfToken: string;
  expiresAt: string;
}

/** A listening shim; `close()` stops it. */
export interface DevShim {
  url: string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function cookieOf(req: IncomingMessage): string | undefined {
  return /(?:^|;\s*)gatehouse_session=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
}

function send(res: ServerResponse, status: number, json?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...(json === undefined ? {} : { "content-type": "application/json" }), ...headers });
  res.end(json === undefined ? undefined : JSON.stringify(json));
}

const unauthorized = { code: "UNAUTHENTICATED", message: "no session: sign in with a key", details: [] };

/** Starts the shim on a free port in front of `upstream` (a running Gatehouse). */
export async function startDevShim(upstream: string): Promise<DevShim> {
  const sessions = new Map<string, ShimSession>();

  const whoami = (key: string) => fetch(`${upstream}/v1/whoami`, { headers: { "authorization-psk": key } });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://shim");
    if (url.pathname === "/") return send(res, 302, undefined, { location: "/console/" });
    if (url.pathname === "/console" || url.pathname.startsWith("/console/")) {
      const rel = normalize(url.pathname.slice("/console/".length)).replace(/^(\.\.[/\\])+/, "");
      let file = join(DIST, rel);
      const isFile = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!isFile) file = join(DIST, "index.html");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      return res.end(await readFile(file));
    }
    if (url.pathname === "/v1/console/config") return send(res, 200, { oidc: false });
    const sid = cookieOf(req);
    const session = sid ? sessions.get(sid) : undefined;
    if (url.pathname === "/v1/console/session") {
      if (req.method === "POST") {
        const { key } = JSON.parse((await body(req)).toString() || "{}") as { key?: string };
        const who = key ? await whoami(key) : null;
        if (who?.status !== 200) {
          return send(res, 401, {
            code: "UNAUTHENTICATED",
            message: "body.key: is not a valid key",
            details: [{ field: "body.key", rule: "valid", message: "body.key: is not a valid key" }],
          });
        }
        const id = randomBytes(24).toString("base64url");
        const s = {
          key: key!,
          csrfToken: randomBytes(24).toString("base64url"),
          expiresAt: new Date(Date.now() + 8 * 3600_000).toISOString(),
        };
        sessions.set(id, s);
        return send(
          res,
          200,
          { actor: await who.json(), csrfToken: s.csrfToken, expiresAt: s.expiresAt },
          {
            "set-cookie": `gatehouse_session=${id}; HttpOnly; SameSite=Strict; Path=/`,
          },
        );
      }
      if (!session) return send(res, 401, unauthorized);
      if (req.method === "DELETE") {
        sessions.delete(sid!);
        return send(res, 204, undefined, { "set-cookie": "gatehouse_session=; Max-Age=0; Path=/" });
      }
      const who = await whoami(session.key);
      return send(res, 200, { actor: await who.json(), csrfToken: session.csrfToken, expiresAt: session.expiresAt });
    }
    // everything else: forward, with the session's key; unsafe methods need the CSRF token
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string" && !["host", "cookie", "connection", "content-length"].includes(k)) headers[k] = v;
    }
    if (session) {
      const unsafe = !["GET", "HEAD", "OPTIONS"].includes(req.method ?? "GET");
      if (unsafe && req.headers["x-csrf-token"] !== session.csrfToken) {
        return send(res, 403, { code: "FORBIDDEN", message: "header.x-csrf-token: is missing or wrong", details: [] });
      }
      headers["authorization-psk"] = session.key;
    }
    const payload = req.method === "GET" || req.method === "HEAD" ? undefined : await body(req);
    const answer = await fetch(upstream + url.pathname + url.search, { method: req.method, headers, body: payload });
    const out = Buffer.from(await answer.arrayBuffer());
    const h: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (!["content-encoding", "content-length", "transfer-encoding", "connection"].includes(k)) h[k] = v;
    });
    res.writeHead(answer.status, h);
    res.end(out);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 502, { code: "SHIM", message: err.message, details: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
