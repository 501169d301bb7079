/**
 * Stall probe (issue #13): does one large request hold the event loop? Starts `gatehouse serve` from
 * a checkout (this one by default) on a fresh embedded database, creates a trino service with one
 * policy of 50,000 catalog values, then sends large requests one at a time while `/healthz` is
 * polled every 10 ms, and prints per request: the answer (status, code), its wall time, and the
 * worst and median `/healthz` latency while it was in flight.
 *   node bench/decisions/stall.ts [--root DIR] [--values 10000,1000] [--policy-values 50000] [--nx1 10000]
 * `--root /work/main` measures another checkout with the same probe (before/after figures).
 */
import { resolve } from "node:path";
import { startServer } from "../support/serve.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const root = resolve(opt("root", process.cwd()));
const requestSizes = opt("values", "10000,1000").split(",").map(Number);
const policyValues = Number(opt("policy-values", "50000"));
const nx1Names = Number(opt("nx1", "10000"));
const PSK = "stall-probe-psk-0123456789";
const headers = { "content-type": "application/json", "authorization-psk": PSK };

/** Sends `send()` while polling /healthz every 10 ms; the latencies of the polls made while it ran. */
async function whilePolling(url: string, send: () => Promise<Response>) {
  let done = false;
  const latencies: number[] = [];
  let failures = 0;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      try {
        const r = await fetch(`${url}/healthz`);
        await r.arrayBuffer();
      } catch {
        // a keep-alive socket the server closed while its loop was held: counted, latency kept
        failures++;
      }
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const t0 = performance.now();
  const res = await send();
  const text = await res.text();
  const ms = performance.now() - t0;
  done = true;
  await poll;
  latencies.sort((a, b) => a - b);
  let code = "";
  try {
    code = (JSON.parse(text) as { code?: string; error?: string }).code ?? "";
  } catch {}
  return {
    status: res.status,
    code,
    ms: Math.round(ms),
    healthzPolls: latencies.length,
    healthzFailures: failures,
    healthzMaxMs: Math.round(latencies.at(-1) ?? 0),
    healthzMedianMs: Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0),
    body: text.slice(0, 160),
  };
}

const server = await startServer(root, PSK);
try {
  const { url } = server;
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const svc = await post("/v1/services", { name: "stall", type: "trino" });
  if (svc.status !== 201) throw new Error(`service: ${svc.status} ${await svc.text()}`);
  const values = Array.from({ length: policyValues }, (_, i) => `catalog_${i}`);
  const policy = await post("/v1/services/stall/policies", {
    name: "many-catalogs",
    resources: { catalog: { values }, schema: { values: ["*"] }, table: { values: ["*"] } },
    policyItems: [{ users: ["alice"], accesses: [{ type: "select" }] }],
  });
  if (policy.status !== 201) throw new Error(`policy: ${policy.status} ${(await policy.text()).slice(0, 300)}`);
  // warm the engine (its first decision builds it)
  await (
    await post("/v1/decisions", {
      service: "stall",
      user: "alice",
      groups: [],
      roles: [],
      resource: { catalog: "x" },
      accessType: "select",
    })
  ).text();
  console.log(JSON.stringify({ root, policyValues }));
  for (const n of requestSizes) {
    const catalog = Array.from({ length: n }, (_, i) => `other_${i}`);
    const r = await whilePolling(url, () =>
      post("/v1/decisions", {
        service: "stall",
        user: "alice",
        groups: [],
        roles: [],
        resource: { catalog },
        accessType: "select",
      }),
    );
    console.log(JSON.stringify({ request: `decision with ${n} catalog values`, ...r }));
  }
  if (nx1Names > 0) {
    const items = Array.from({ length: nx1Names }, (_, i) => `stall_group_${i}`);
    const r = await whilePolling(url, () => post("/api/govern/data-access/metadata/groups", { items }));
    console.log(JSON.stringify({ request: `nx1 metadata/groups with ${nx1Names} names`, ...r }));
  }
} finally {
  await server.stop();
}
