import { Agent, request } from "node:http";

/** An answer as the benchmarks read it. */
export interface Answer {
  status: number;
  body: string;
}

/**
 * A keep-alive HTTP client for load generators that run beside the server on the same cores:
 * `fetch` (undici with WHATWG streams) spent about 1.4 ms of CPU per request in the SCIM benchmark,
 * as much as the server's create, taking that CPU from the server under test; a plain
 * `http.request` over kept-alive sockets costs a fraction of it. One socket per concurrent client.
 */
export function httpClient(baseUrl: string, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const base = new URL(baseUrl);
  const send = (method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return {
    get: (path: string, headers: Record<string, string>) => send("GET", path, headers),
    post: (path: string, headers: Record<string, string>, body: string) => send("POST", path, headers, body),
    close: () => agent.destroy(),
  };
}
