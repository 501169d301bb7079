/**
 * What one resource-tag change costs a process that has the service's engine loaded, end to end
 * from the database: the old path (read the service's whole `ServiceTags` in a REPEATABLE READ
 * transaction, `diffServiceTags` against the held document, apply) against the new one
 * (`LiveEngines.refresh`: the tag change log's delta, `readServiceTagsDelta`, applied in place).
 *   GATEHOUSE_BENCH_DATABASE_URL=postgres://… node bench/engine/tag-refresh.ts [N=10000,100000] [changes=30]
 * Without the URL it runs on an in-memory PGlite, whose database work then counts as this
 * process's CPU. The world: a trino service linked to a tag service with a deny-PII tag policy, N
 * tagged tables over 50 schemas, each with its own tag (a quarter PII), imported with Ranger's
 * import. Each change (tag a new table, retag an existing one as PII, untag one) is written through
 * the API, then one path catches up, timed with `process.cpuUsage` (user + system of this process:
 * the client side of the database) and wall clock, the first decision on the changed table
 * included; it must decide as the change says. The two paths take turns in blocks of five changes
 * (each catches up untimed before its block), so the old path's garbage (it reads every tagged
 * resource) is mostly collected on its own clock. (Forcing a collection before each step, tried
 * with `--expose-gc`, made every step after it slower, whichever the path.) Figures: median, min,
 * max per change; `builds` must stay 1 (no rebuild on the log path).
 */
import { sql } from "kysely";
import { buildApp } from "../../src/app.ts";
import { hashSecret } from "../../src/auth/secrets.ts";
import { loadConfig } from "../../src/config/load.ts";
import { readServiceState } from "../../src/decisions/engine-source.ts";
import { LiveEngines } from "../../src/decisions/live-engines.ts";
import { diffServiceTags, type ServiceTags } from "../../src/engine/index.ts";
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { readServiceTags } from "../../src/tags/service-tags.ts";

const sizes = (process.argv[2] ?? "10000,100000").split(",").map(Number);
const changes = Number(process.argv[3] ?? 30);
const PSK = "bench-general-psk-0123456789";
const run = Math.random().toString(36).slice(2, 8);
const TYPES = ["PII", "PCI", "INTERNAL", "FINANCE"].map((t) => `${t}_${run}`);
const PII = TYPES[0] as string;

const db = await openDb({ databaseUrl: process.env.GATEHOUSE_BENCH_DATABASE_URL, poolSize: 4 });
await migrate(db);
const config = loadConfig({ env: { GATEHOUSE_PSK: PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
const app = await buildApp({ config, db, generalPskHash: hashSecret(PSK) });
await app.ready();

async function call(method: "POST" | "PUT" | "PATCH" | "DELETE" | "GET", url: string, payload?: object) {
  const res = await app.inject({ method, url, headers: { "authorization-psk": PSK }, ...(payload ? { payload } : {}) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.statusCode === 204 ? null : res.json();
}

const table = (i: number) => ({
  catalog: { values: ["hive"] },
  schema: { values: [`s${i % 50}`] },
  table: { values: [`t${i}`] },
});

function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

async function timed(fn: () => Promise<boolean>): Promise<{ cpu: number; wall: number; allowed: boolean }> {
  const c0 = cpuNow();
  const w0 = performance.now();
  const allowed = await fn();
  return { cpu: cpuNow() - c0, wall: performance.now() - w0, allowed };
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    median: r(s[Math.floor(s.length / 2)] as number),
    min: r(s[0] as number),
    max: r(s[s.length - 1] as number),
  };
}

for (const def of TYPES) await call("POST", "/v1/tag-defs", { name: def });
try {
  for (const n of sizes) {
    const service = `bench_tags_${run}_${n}`;
    const tagService = `bench_tagsvc_${run}_${n}`;
    await call("POST", "/v1/services", { name: service, type: "trino" });
    await call("POST", "/v1/services", { name: tagService, type: "tag" });
    await call("PATCH", `/v1/services/${service}`, { tagService });
    await call("POST", `/v1/services/${service}/policies`, {
      name: "all",
      resources: { catalog: { values: ["hive"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
      policyItems: [{ groups: ["analysts"], accesses: [{ type: "select" }] }],
    });
    await call("POST", `/v1/services/${tagService}/policies`, {
      name: "no-pii",
      resources: { tag: { values: [PII] } },
      denyPolicyItems: [{ groups: ["analysts"], accesses: [{ type: "trino:select" }] }],
    });
    for (let from = 0; from < n; from += 5000) {
      const tags: Record<string, object> = {};
      const resources: object[] = [];
      const mappings: Record<string, number[]> = {};
      for (let i = from; i < Math.min(n, from + 5000); i++) {
        tags[String(i)] = { type: TYPES[i % 4], attributes: {} };
        resources.push({ id: i, resourceElements: table(i) });
        mappings[String(i)] = [i];
      }
      await call("PUT", "/service/tags/importservicetags", {
        serviceName: service,
        tags,
        serviceResources: resources,
        resourceToTagIds: mappings,
      });
    }
    const live = await new LiveEngines(db).get(service);
    const engines = new LiveEngines(db);
    const current = await engines.get(service);
    let held = current.heldTags.document;
    const oldEngine = live.engine;
    const decide = (engine: typeof oldEngine, i: number) =>
      engine.isAccessAllowed({
        resource: { elements: { catalog: "hive", schema: `s${i % 50}`, table: `t${i}` } },
        accessType: "select",
        user: "alice",
        userGroups: ["analysts"],
      }).isAllowed;
    /** The old path: the whole document read with its version, diffed, applied. */
    const oldPath = async (i: number) => {
      const next = await db.transaction(async (tx) => {
        await sql`set transaction isolation level repeatable read`.execute(tx);
        const state = await readServiceState(tx, service);
        if (!state) throw new Error("service gone");
        return readServiceTags(tx, state);
      });
      oldEngine.applyServiceTags(diffServiceTags(held as ServiceTags, next));
      held = next;
      return decide(oldEngine, i);
    };
    /** The new path: the live engines' refresh (the log's delta). */
    const newPath = async (i: number) => {
      // (the engine the refresh leaves: a rebuild, counted in `builds`, would replace `current`)
      const now = await engines.refresh(service);
      if (!now) throw new Error("service gone");
      return decide(now.engine, i);
    };
    const seen = {
      old: { cpu: [] as number[], wall: [] as number[] },
      log: { cpu: [] as number[], wall: [] as number[] },
    };
    let mismatches = 0;
    let next = n;
    const BLOCK = 5;
    for (let c = 0; c < changes; c++) {
      // before its block, the path about to be timed catches up with the other block's changes
      if (c % BLOCK === 0) await (Math.floor(c / BLOCK) % 2 === 1 ? oldPath(0) : newPath(0));
      const kind = (["tag", "retag", "untag"] as const)[c % 3];
      // a new table, or an existing non-PII one (retagged as PII, or untagged)
      const i = kind === "tag" ? next++ : (((c * 7919) % n) >> 2) * 4 + 1 + (kind === "untag" ? 1 : 0);
      if (kind === "untag") {
        const found = await call(
          "GET",
          `/v1/services/${service}/tagged-resources?resource=catalog=hive,schema=s${i % 50},table=t${i}`,
        );
        const r = found.items[0];
        if (!r) continue; // untagged by an earlier change already
        await call("DELETE", `/v1/services/${service}/tagged-resources/${r.id}/tags/${r.tags[0].type}`);
      } else
        await call("POST", `/v1/services/${service}/tagged-resources`, {
          resourceElements: table(i),
          tags: [{ type: PII }],
        });
      // blocks of changes per path; the other path catches up untimed when its block starts
      const useOld = Math.floor(c / BLOCK) % 2 === 1;
      const path = useOld ? oldPath : newPath;
      const m = await timed(() => path(i));
      const want = kind === "untag";
      if (m.allowed !== want) {
        mismatches++;
        console.error(JSON.stringify({ mismatch: { kind, i, path: useOld ? "old" : "log", allowed: m.allowed } }));
      }
      const into = useOld ? seen.old : seen.log;
      into.cpu.push(m.cpu);
      into.wall.push(m.wall);
    }
    console.log(
      JSON.stringify({
        taggedResources: n,
        database: process.env.GATEHOUSE_BENCH_DATABASE_URL ? "postgres" : "pglite",
        changes,
        oldPathCpuMs: stats(seen.old.cpu),
        oldPathWallMs: stats(seen.old.wall),
        logDeltaCpuMs: stats(seen.log.cpu),
        logDeltaWallMs: stats(seen.log.wall),
        fullReadsOnLogPath: engines.stats.tagFullReads,
        builds: engines.stats.builds,
        mismatches,
      }),
    );
    await call("PATCH", `/v1/services/${service}`, { tagService: null });
    await call("DELETE", `/v1/services/${service}`);
    await call("DELETE", `/v1/services/${tagService}`);
  }
} finally {
  for (const def of TYPES)
    await app.inject({ method: "DELETE", url: `/v1/tag-defs/${def}`, headers: { "authorization-psk": PSK } });
  await app.close();
  await db.close();
}
