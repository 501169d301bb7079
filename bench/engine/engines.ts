/**
 * Engines under test on the `tables` workload. Each `load(w)` builds the policy set and returns a
 * synchronous decide(request) → boolean. cedar-sliced and casbin are set up exactly as in
 * ../shared/bench/peers/engines.mjs (reimplemented here): Cedar gets one preparsed policy set per
 * table (the Cedar paper's "policy slicing"), casbin the RBAC model with the cheap equalities first.
 */
import { createRequire } from "node:module";
import type { EngineInput, RangerAccessRequest } from "../../src/engine/types.ts";
import { loadGatehouse } from "./gatehouse.ts";
import { type TableRequest, type TablesWorkload, tableRequestToRanger, tablesEngineInput } from "./workload.ts";

const require = createRequire(import.meta.url);

/** decide(native request) → allowed; `prepare` converts a workload request once, before timing. */
export interface Loaded {
  decide: (req: never) => boolean;
  prepare: (req: TableRequest) => unknown;
}

export interface BenchEngine {
  /**
   * Converts the workload to the engine's input format, before the build is timed and before the heap
   * baseline (so buildMs and heapMB are the engine's own, as cell.ts documents). Optional.
   */
  input?(w: TablesWorkload): unknown;
  load(w: TablesWorkload, input?: unknown): Promise<Loaded> | Loaded;
}

const same = (req: TableRequest) => req;

interface CedarAnswer {
  type: string;
  errors?: unknown;
  response?: { decision: string };
}
interface CedarModule {
  preparsePolicySet(id: string, set: { staticPolicies: string }): { type: string; errors?: unknown };
  statefulIsAuthorized(call: unknown): CedarAnswer;
}

let psetCounter = 0;

export const engines: Record<string, BenchEngine> = {
  /** Gatehouse through its public API; requests are pre-built Ranger requests. */
  gatehouse: {
    input: (w) => tablesEngineInput(w),
    async load(w, input) {
      const api = await loadGatehouse();
      if ("missing" in api) throw new Error(api.missing);
      const engine = api.build((input as EngineInput | undefined) ?? tablesEngineInput(w));
      return { decide: (req: RangerAccessRequest) => engine.isAllowed(req), prepare: tableRequestToRanger };
    },
  },

  "cedar-sliced": {
    load(w) {
      const cedar = require("@cedar-policy/cedar-wasm/nodejs") as CedarModule;
      cedar.preparsePolicySet("empty-slice", { staticPolicies: "" });
      const slices = new Map<string, string>();
      for (const p of w.policies) {
        slices.set(
          p.table,
          (slices.get(p.table) ?? "") +
            `permit (principal in Group::"${p.group}", action == Action::"select", resource == Table::"${p.table}");\n`,
        );
      }
      const ids = new Map<string, string>();
      const run = psetCounter++;
      for (const [table, text] of slices) {
        const id = `slice${run}:${table}`;
        const res = cedar.preparsePolicySet(id, { staticPolicies: text });
        if (res.type !== "success") throw new Error(JSON.stringify(res.errors));
        ids.set(table, id);
      }
      const entities = new Map<string, unknown[]>();
      for (const u of w.users) {
        entities.set(u.id, [
          { uid: { type: "User", id: u.id }, attrs: {}, parents: u.groups.map((g) => ({ type: "Group", id: g })) },
        ]);
      }
      const decide = (req: TableRequest) => {
        const ans = cedar.statefulIsAuthorized({
          principal: { type: "User", id: req.user.id },
          action: { type: "Action", id: req.action },
          resource: { type: "Table", id: req.table },
          context: {},
          preparsedPolicySetId: ids.get(req.table) ?? "empty-slice",
          entities: entities.get(req.user.id),
        });
        if (ans.type !== "success") throw new Error(JSON.stringify(ans.errors));
        return ans.response!.decision === "allow";
      };
      return { decide, prepare: same };
    },
  },

  casbin: {
    async load(w) {
      const casbin = require("casbin") as {
        newModelFromString(text: string): unknown;
        StringAdapter: new (text: string) => unknown;
        newEnforcer(model: unknown, adapter: unknown): Promise<{ enforceSync(...args: string[]): boolean }>;
      };
      const model = casbin.newModelFromString(`
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.obj == p.obj && r.act == p.act && g(r.sub, p.sub)`);
      const lines = w.policies.map((p) => `p, ${p.group}, ${p.table}, select`);
      for (const u of w.users) for (const g of u.groups) lines.push(`g, ${u.id}, ${g}`);
      const e = await casbin.newEnforcer(model, new casbin.StringAdapter(lines.join("\n")));
      return { decide: (req: TableRequest) => e.enforceSync(req.user.id, req.table, req.action), prepare: same };
    },
  },

  /** Not a peer: a plain Map<table, Set<group>> lookup, the floor for an indexed in-process decision. */
  floor: {
    load(w) {
      const idx = new Map<string, Set<string>>();
      for (const p of w.policies) {
        const key = `${p.table}|select`;
        let s = idx.get(key);
        if (!s) {
          s = new Set();
          idx.set(key, s);
        }
        s.add(p.group);
      }
      const decide = (req: TableRequest) => {
        const gs = idx.get(`${req.table}|${req.action}`);
        if (!gs) return false;
        for (const g of req.user.groups) if (gs.has(g)) return true;
        return false;
      };
      return { decide, prepare: same };
    },
  },
};
