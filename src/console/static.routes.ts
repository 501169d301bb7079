import { statSync } from "node:fs";
import { resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ConsoleNotBuilt } from "../errors.ts";
import { nativeErrorShape } from "../http/error-handler.ts";

/** Where `npm run build:console` writes the console (Vite's `outDir`), relative to this file. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL("../../console/dist/", import.meta.url));

/**
 * Security headers of every console response. The CSP suits a Vite build: scripts and everything
 * else only from this origin (no inline script, no eval); inline styles are allowed because
 * component libraries set `style` attributes; images and fonts may also be `data:` URLs. The
 * console may not be framed (clickjacking) and sends no referrer to other origins.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
});

/** Vite names built assets by content hash: they never change, so browsers may keep them a year. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

/**
 * Serves the built console at `/console/` from `dir` (`index.html` and Vite's hashed `assets/`),
 * with `index.html` for any other path under `/console/` so client-side routes survive a reload or
 * a shared link, and redirects `/` and `/console` to `/console/`. The folder is looked at on each
 * request, so building the console while the server runs needs no restart; when it holds no
 * `index.html`, `/console/` answers 503 saying how to build it, and nothing else is affected.
 */
export function consoleStaticRoutes(dir: string) {
  const root = resolve(dir);
  return async (app: FastifyInstance): Promise<void> => {
    // serve: false: only `reply.sendFile`; which file to send is decided below.
    await app.register(fastifyStatic, { root, serve: false });
    app.addHook("onSend", (_request, reply, payload, done) => {
      reply.headers(CONSOLE_SECURITY_HEADERS);
      done(null, payload);
    });

    const toConsole = async (_request: FastifyRequest, reply: FastifyReply) => reply.redirect("/console/", 302);
    const hidden = { hide: true };
    app.get("/", { config: { ability: "public" }, schema: hidden }, toConsole);
    app.get("/console", { config: { ability: "public" }, schema: hidden }, toConsole);
    app.get<{ Params: { "*": string } }>(
      "/console/*",
      { config: { ability: "public" }, schema: hidden },
      async (request, reply) => {
        if (!isFile(root, "index.html")) return notBuilt(request, reply, root);
        const path = request.params["*"];
        if (path !== "" && isFile(root, path)) {
          const hashed = path.startsWith("assets/");
          if (!hashed) reply.header("cache-control", "no-cache");
          return reply.sendFile(path, {
            cacheControl: hashed,
            maxAge: hashed ? ASSET_MAX_AGE_MS : 0,
            immutable: hashed,
          });
        }
        // A missing asset is a 404: answering index.html would hand HTML to a <script> tag.
        if (path.startsWith("assets/")) return reply.callNotFound();
        reply.header("cache-control", "no-cache");
        return reply.sendFile("index.html", { cacheControl: false });
      },
    );
  };
}

/** Whether `path` names a regular file inside `root` (never outside it, whatever `..` it holds). */
function isFile(root: string, path: string): boolean {
  const full = resolve(root, path);
  if (full !== root && !full.startsWith(root + sep)) return false;
  try {
    return statSync(full).isFile();
  } catch {
    return false;
  }
}

function notBuilt(request: FastifyRequest, reply: FastifyReply, root: string) {
  const error = ConsoleNotBuilt(
    `the admin console was not built: no index.html in \`${root}\`; run \`npm run build:console\` (or set GATEHOUSE_CONSOLE_DIR) and reload`,
  );
  reply.code(503).header("cache-control", "no-store").header("retry-after", "60");
  if ((request.headers.accept ?? "").includes("text/html")) {
    return reply
      .type("text/html; charset=utf-8")
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse console not built</title></head>` +
          `<body><h1>The Gatehouse console was not built</h1><p>No <code>index.html</code> in <code>${escapeHtml(root)}</code>.</p>` +
          `<p>Build it with <code>npm run build:console</code> (or point <code>GATEHOUSE_CONSOLE_DIR</code> at a built console), then reload this page. The API is available meanwhile at <a href="/docs">/docs</a>.</p></body></html>`,
      );
  }
  return reply.send(nativeErrorShape(error, request).body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
