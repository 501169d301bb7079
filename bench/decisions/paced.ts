import { connect, type Socket } from "node:net";

/** What a paced run measured; latencies in milliseconds from each request's intended send time. */
export interface PacedResult {
  offeredPerSec: number;
  reqPerSec: number;
  completed: number;
  /** Requests still unanswered 10 s after the last one fell due (the server fell behind). */
  incomplete: number;
  non2xx: number;
  /** Connection errors. */
  errors: number;
  latency: { p50: number; p99: number; max: number };
}

/**
 * Open-loop load at a steady rate: request i is due at `start + i / rate`; a 1 ms timer sends
 * the requests that have come due on idle keep-alive connections (one request in flight per
 * connection); when none is idle a request waits, and the wait counts in its latency, which runs
 * from the tick that found it due (no coordinated omission). autocannon's `overallRate` cannot do this: each connection sends its
 * quota for the second back to back and then idles, so a run "at half the ceiling" is really
 * saturated bursts, and its latency correction assumes evenly spaced requests it never sent.
 * Raw sockets and one prebuilt request keep the client's own CPU cost low on a shared machine.
 */
export async function pacedLoad(opts: {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  rate: number;
  durationSeconds: number;
  connections: number;
}): Promise<PacedResult> {
  const target = new URL(opts.url);
  const body = Buffer.from(opts.body);
  const head = [
    `${opts.method} ${target.pathname}${target.search} HTTP/1.1`,
    `host: ${target.host}`,
    `content-length: ${body.length}`,
    ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`),
  ].join("\r\n");
  const request = Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]);

  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const pending: number[] = [];
  const idle: Connection[] = [];

  interface Connection {
    socket: Socket;
    /** Intended send time of the request in flight, or undefined when idle. */
    due: number | undefined;
    buffer: Buffer;
  }

  const send = (c: Connection, due: number) => {
    c.due = due;
    c.socket.write(request);
  };
  const finish = (c: Connection, status: number) => {
    latencies.push(performance.now() - (c.due as number));
    if (status < 200 || status >= 300) non2xx++;
    c.due = undefined;
    const next = pending.shift();
    if (next !== undefined) send(c, next);
    else idle.push(c);
  };
  // One response at a time per connection: headers up to CRLFCRLF, then content-length bytes.
  const onData = (c: Connection, chunk: Buffer) => {
    c.buffer = c.buffer.length === 0 ? chunk : Buffer.concat([c.buffer, chunk]);
    for (;;) {
      const end = c.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const headers = c.buffer.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? Number.NaN);
      if (!Number.isFinite(length)) throw new Error(`paced load: response without content-length: ${headers}`);
      if (c.buffer.length < end + 4 + length) return;
      c.buffer = c.buffer.subarray(end + 4 + length);
      finish(c, Number(headers.slice(9, 12)));
    }
  };

  const connections: Connection[] = await Promise.all(
    Array.from(
      { length: opts.connections },
      () =>
        new Promise<Connection>((resolve, reject) => {
          const socket = connect({ host: target.hostname, port: Number(target.port) }, () => resolve(c));
          const c: Connection = { socket, due: undefined, buffer: Buffer.alloc(0) };
          socket.setNoDelay(true);
          socket.on("data", (chunk) => onData(c, chunk));
          socket.on("error", (err) => {
            errors++;
            reject(err);
          });
        }),
    ),
  );
  idle.push(...connections);

  const intervalMs = 1000 / opts.rate;
  const total = Math.floor(opts.rate * opts.durationSeconds);
  const start = performance.now();
  let issued = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const dueNow = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
      for (; issued < dueNow; issued++) {
        // Timed from this tick, not from the exact due instant: the 1 ms timer's own lateness is
        // the client's, while waiting for a free connection (the server is behind) still counts.
        const due = now;
        const c = idle.pop();
        if (c) send(c, due);
        else pending.push(due);
      }
      if (issued >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  // Let the requests in flight and waiting complete (bounded).
  const drainUntil = performance.now() + 10_000;
  while ((pending.length > 0 || idle.length < connections.length) && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const elapsed = (performance.now() - start) / 1000;
  for (const c of connections) c.socket.destroy();

  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))] ?? Number.NaN;
  const round = (x: number) => Number(x.toFixed(2));
  return {
    offeredPerSec: opts.rate,
    reqPerSec: Math.round(latencies.length / elapsed),
    completed: latencies.length,
    non2xx,
    incomplete: total - latencies.length,
    errors,
    latency: { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1] ?? Number.NaN) },
  };
}
