/**
 * Memory under malformed and varied input (issue #13, item 11): starts `gatehouse serve`, fires many
 * requests at every route of its OpenAPI document (random path parameters, methods, query strings,
 * credentials, idempotency keys, malformed and random JSON bodies, decisions for random services,
 * users and resources), and samples the server's RSS (/proc) and V8 heap (`/metrics`) as it goes,
 * then once more after it has been idle. Retained memory shows as a heap that keeps growing with the
 * number of distinct inputs rather than settling.
 *   node bench/memory/fuzz-rss.ts [--root DIR] [--requests 72000] [--concurrency 8] [--database-url URL] [--seed 1]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startServer } from "../support/serve.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const root = resolve(opt("root", process.cwd()));
const total = Number(opt("requests", "72000"));
const concurrency = Number(opt("concurrency", "8"));
const databaseUrl = opt("database-url", "") || undefined;
let seed = Number(opt("seed", "1")) >>> 0;
const PSK = "fuzz-rss-psk-0123456789";

const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const word = (max = 12) => {
  let s = "";
  const n = 1 + Math.floor(rand() * max);
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(rand() * 26));
  return s;
};
const odd = () =>
  pick([word(), word(40), "", " ", "../../etc", "%00", "ünï©ødé", "a".repeat(5000), String(rand()), "-1", "null"]);

function randomJson(depth = 0): unknown {
  const r = rand();
  if (depth > 4 || r < 0.3) return pick([odd(), Math.floor(rand() * 1e9), true, null, -1.5]);
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 6) }, () => randomJson(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(rand() * 6); i++)
    o[pick([word(), "name", "id", "items", "resource", "values"])] = randomJson(depth + 1);
  return o;
}

function body(): string | undefined {
  const r = rand();
  if (r < 0.15) return undefined;
  if (r < 0.3) return pick(['{"a":', "[1,2", "nul", '{"__proto__":{"x":1}}', "\u0000", "{".repeat(50)]);
  // large bodies near the 1 MiB limit: many names, one long string, a long array of objects
  if (r < 0.38)
    return JSON.stringify(
      pick([
        { name: "x".repeat(900_000) },
        { items: Array.from({ length: 50_000 }, () => word(10)) },
        { requests: Array.from({ length: 5000 }, () => ({ user: word(), resource: { catalog: word() } })) },
      ]),
    );
  return JSON.stringify(randomJson());
}

function credentials(): Record<string, string> {
  const r = rand();
  if (r < 0.55) return { "authorization-psk": PSK };
  if (r < 0.7) return { "authorization-psk": `${word(30)}` };
  if (r < 0.8) return { authorization: `Bearer ${word(20)}.${word(40)}.${word(20)}` };
  if (r < 0.9) return { authorization: `Basic ${Buffer.from(`${word()}:${word()}`).toString("base64")}` };
  return {};
}

// authentication back-off would answer most of the run 429 from the first bad credential on
const env = { GATEHOUSE_AUTH_FAILURE_LIMIT: "100000000" };
const server = await startServer(root, PSK, databaseUrl ? { databaseUrl, env } : { env });
const pid = server.child.pid as number;
const rssMb = () => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
  return Math.round(Number(line?.[1] ?? 0) / 1024);
};
const heapMb = async () => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const v = text.match(/^gatehouse_nodejs_heap_size_used_bytes (\S+)/m);
  const ext = text.match(/^gatehouse_nodejs_external_memory_bytes (\S+)/m);
  return {
    heapUsedMb: Math.round(Number(v?.[1] ?? 0) / 2 ** 20),
    externalMb: Math.round(Number(ext?.[1] ?? 0) / 2 ** 20),
  };
};
const sample = async (label: string) => console.log(JSON.stringify({ label, rssMb: rssMb(), ...(await heapMb()) }));

try {
  const doc = (await (await fetch(`${server.url}/openapi.json`, { headers: { "authorization-psk": PSK } })).json()) as {
    paths?: Record<string, Record<string, unknown>>;
  };
  const routes: { method: string; path: string }[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {}))
    for (const method of Object.keys(ops)) routes.push({ method: method.toUpperCase(), path });
  if (routes.length === 0) throw new Error("no routes in /openapi.json");
  const svc = await fetch(`${server.url}/v1/services`, {
    method: "POST",
    headers: { "content-type": "application/json", "authorization-psk": PSK },
    body: JSON.stringify({ name: "fuzz", type: "trino" }),
  });
  await svc.text();
  console.log(
    JSON.stringify({
      root,
      routes: routes.length,
      total,
      concurrency,
      database: databaseUrl ? "postgres" : "embedded",
    }),
  );
  await sample("start");

  const one = async () => {
    const r = rand();
    let method: string;
    let path: string;
    let payload: string | undefined;
    if (r < 0.25) {
      // decisions: random services, users, resource keys and values
      method = "POST";
      path = pick(["/v1/decisions", "/v1/decisions:batch", "/v1/decisions:explain"]);
      const one = {
        service: rand() < 0.5 ? "fuzz" : word(),
        user: word(),
        groups: rand() < 0.5 ? undefined : [word(), word()],
        roles: rand() < 0.5 ? undefined : [word()],
        resource:
          rand() < 0.7 ? { catalog: rand() < 0.5 ? word() : [word(), word()], schema: word() } : { [word()]: word() },
        accessType: pick(["select", "insert", word(), "_any"]),
      };
      payload = JSON.stringify(path.endsWith("batch") ? { requests: [one, one] } : one);
    } else if (r < 0.35) {
      method = pick(["GET", "POST", "DELETE", "PATCH"]);
      path = `/${word()}/${word()}${rand() < 0.5 ? `/${odd()}` : ""}`;
      payload = body();
    } else {
      const route = pick(routes);
      method = rand() < 0.85 ? route.method : pick(["GET", "POST", "PUT", "PATCH", "DELETE"]);
      path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(rand() < 0.3 ? "fuzz" : odd()));
      payload = method === "GET" || method === "DELETE" ? undefined : body();
    }
    if (rand() < 0.3) path += `?${word()}=${encodeURIComponent(odd())}&limit=${pick(["10", "-1", "x", "100000"])}`;
    const headers: Record<string, string> = { ...credentials() };
    if (payload !== undefined)
      headers["content-type"] = rand() < 0.9 ? "application/json" : pick(["text/plain", "application/xml"]);
    if (payload !== undefined && rand() < 0.2) headers["idempotency-key"] = word(30);
    if (rand() < 0.2) headers["x-request-id"] = word(40);
    try {
      const res = await fetch(`${server.url}${encodeURI(path).replace(/%25/g, "%")}`, {
        method,
        headers,
        body: payload,
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return -1;
    }
  };

  const statuses = new Map<number, number>();
  let sent = 0;
  const every = Math.max(1000, Math.floor(total / 12));
  const worker = async () => {
    while (sent < total) {
      sent++;
      const n = sent;
      const status = await one();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (n % every === 0) await sample(`after ${n}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  console.log(JSON.stringify({ statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])) }));
  await sample("done");
  await new Promise((r) => setTimeout(r, 15_000));
  await sample("idle 15 s");
} finally {
  await server.stop();
}
