import { Writable } from "node:stream";
import Fastify from "fastify";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { lazyChildLogger } from "./request-logger.ts";

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: pino({ level }, stream) };
}

async function appWith(level: string) {
  const { lines, logger } = capture(level);
  let n = 0;
  const app = Fastify({ loggerInstance: logger, childLoggerFactory: lazyChildLogger, genReqId: () => `r${++n}` });
  app.get("/ok", async (request) => {
    request.log.debug({ step: "handler" }, "debug line");
    return { ok: true };
  });
  app.get("/fails", async (request) => {
    request.log.warn({ step: "handler" }, "about to fail");
    throw new Error("boom");
  });
  await app.ready();
  return { app, lines };
}

describe("lazy request loggers", () => {
  it("write what an eager child would, bound to the request id, at an enabled level", async () => {
    const { app, lines } = await appWith("debug");
    await app.inject({ url: "/ok" });
    expect(lines.map((l) => l.msg)).toEqual(["incoming request", "debug line", "request completed"]);
    expect(lines.every((l) => l.reqId === "r1")).toBe(true);
    expect(lines[1]).toMatchObject({ step: "handler", level: 20 });
    await app.close();
  });

  it("write nothing below the level, and warnings and errors with the request id", async () => {
    const { app, lines } = await appWith("warn");
    await app.inject({ url: "/ok" });
    expect(lines).toEqual([]);
    const res = await app.inject({ url: "/fails" });
    expect(res.statusCode).toBe(500);
    expect(lines.map((l) => l.msg)).toEqual(["about to fail", "boom"]);
    expect(lines.every((l) => l.reqId === "r2")).toBe(true);
    await app.close();
  });

  it("hand out an ordinary child when a route sets its own level", () => {
    const { logger } = capture("warn");
    const child = lazyChildLogger(logger, { reqId: "r1" }, { level: "debug" });
    expect(child.level).toBe("debug");
    const lazy = lazyChildLogger(logger, { reqId: "r2" }, {});
    expect(lazy.level).toBe("warn");
    expect(lazy.child({ more: 1 }).level).toBe("warn");
  });
});
