/**
 * Memory after large but valid writes (issue #13, item 11): starts `gatehouse serve`, creates groups
 * with ~900 KB metadata and lists them back, then imports one policy whose value list is
 * `--import-mib` MiB, and samples the server's RSS, V8 heap and (embedded database only) the
 * WebAssembly memory of PGlite (`gatehouse_embedded_db_memory_bytes`) before, after each phase and
 * after an idle pause. PGlite's WebAssembly memory grows with the largest single value it handles
 * and is never returned, which is what this shows.
 *   node bench/memory/large-values.ts [--root DIR] [--groups 100] [--import-mib 16] [--database-url URL]
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
const groups = Number(opt("groups", "100"));
const importMib = Number(opt("import-mib", "16"));
const databaseUrl = opt("database-url", "") || undefined;
const PSK = "large-values-psk-0123456789";

const server = await startServer(root, PSK, databaseUrl ? { databaseUrl } : {});
const pid = server.child.pid as number;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const metric = (text: string, name: string) =>
  Number(text.match(new RegExp(`^${name} (\\S+)`, "m"))?.[1] ?? Number.NaN);
const sample = async (label: string) => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const rss = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) * 1024;
  const wasm = metric(text, "gatehouse_embedded_db_memory_bytes");
  console.log(
    JSON.stringify({
      label,
      rssMb: mb(rss),
      heapUsedMb: mb(metric(text, "gatehouse_nodejs_heap_size_used_bytes")),
      externalMb: mb(metric(text, "gatehouse_nodejs_external_memory_bytes")),
      ...(Number.isNaN(wasm) ? {} : { embeddedDbMb: mb(wasm) }),
    }),
  );
};
const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "authorization-psk": PSK, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text;
};

try {
  console.log(JSON.stringify({ root, groups, importMib, database: databaseUrl ? "postgres" : "embedded" }));
  await sample("start");
  const blob = "m".repeat(900_000);
  for (let i = 0; i < groups; i++) await call("POST", "/v1/groups", { name: `big-${i}`, metadata: { blob } });
  for (let i = 0; i < 3; i++) await call("GET", "/v1/groups?limit=100");
  await sample(`after ${groups} groups of 900 KB metadata, listed 3x`);
  await call("POST", "/v1/services", { name: "mem", type: "trino" });
  const values = Array.from(
    { length: Math.floor((importMib * 2 ** 20) / 16) },
    (_, i) => `t${String(i).padStart(12, "0")}`,
  );
  const policy = {
    name: "huge",
    resources: { catalog: { values } },
    policyItems: [{ users: ["alice"], accesses: [{ type: "select", isAllowed: true }] }],
  };
  // many ordinary policies in one file first (each ~1.6 KB), then one policy of `importMib` MiB
  const perPolicy = 100;
  const many = Array.from({ length: Math.floor((importMib * 2 ** 20) / (perPolicy * 16)) }, (_, p) => ({
    name: `p${p}`,
    resources: { catalog: { values: values.slice(p * perPolicy, (p + 1) * perPolicy) } },
    policyItems: policy.policyItems,
  }));
  await call("POST", "/v1/services/mem/import", { policies: many });
  await call("GET", "/v1/services/mem/export");
  await sample(`after import of ${many.length} policies (${importMib} MiB file), exported`);
  await call("POST", "/v1/services", { name: "mem2", type: "trino" });
  // refused with 413 where a policy is capped (MAX_POLICY_BYTES); the baseline stores it
  const huge = await fetch(`${server.url}/v1/services/mem2/import`, {
    method: "POST",
    headers: { "authorization-psk": PSK, "content-type": "application/json" },
    body: JSON.stringify({ policies: [policy] }),
  });
  await huge.text();
  await call("GET", "/v1/services/mem2/export");
  await sample(`after import of one ${importMib} MiB policy (status ${huge.status}), exported`);
  global.gc?.();
  await new Promise((r) => setTimeout(r, 15_000));
  await sample("idle 15 s");
} finally {
  await server.stop();
}
