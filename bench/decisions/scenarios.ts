import { createRequire } from "node:module";
import type { Seeded } from "./seed.ts";

/** One route to measure: where the request goes, what it sends and the status it must answer. */
export interface RouteScenario {
  name: string;
  /** Which server answers it. */
  server: "bare" | "gatehouse";
  /** autocannon request options (url, method, headers, body). */
  request: { url: string; method?: string; headers?: Record<string, string>; body?: string };
  expect: number;
}

/**
 * The per-route breakdown shared by cost.ts (CPU time per request) and instructions.ts
 * (instructions per request): the bare route, two cheap gatehouse routes, a rejected decision,
 * a decision and a batch of 100 decisions over `policies` seeded policies, and the same decision
 * as a Ranger PDP authorize and 100 of them as an authorizeMulti (asked by the PSK's caller about
 * alice: the server needs `GATEHOUSE_RANGER_PDP_DELEGATION_USERS=*=psk`, see `PDP_DELEGATION`).
 */
export function routeScenarios(opts: {
  bareUrl: string;
  gatehouseUrl: string;
  psk: string;
  seeded: Seeded;
  policies: number;
}): RouteScenario[] {
  const { bareUrl, gatehouseUrl: gh, seeded } = opts;
  const json = { "content-type": "application/json" };
  const auth = { "authorization-psk": opts.psk };
  const batch = JSON.stringify({
    service: seeded.service,
    requests: Array.from({ length: 100 }, (_, i) => ({
      user: i % 2 === 0 ? seeded.alice.username : seeded.bob.username,
      resource: { catalog: "sales", schema: `s${(i * 37) % opts.policies}`, table: `t${i}` },
      accessType: "select",
    })),
  });
  const post = (url: string, body: string) => ({ url, method: "POST", headers: { ...json, ...auth }, body });
  const pdpContext = { serviceType: "trino", serviceName: seeded.service };
  const pdpSingle = JSON.stringify({
    user: { name: seeded.alice.username },
    access: { resource: { name: "table:sales/s7/orders" }, permissions: ["select"] },
    context: pdpContext,
  });
  const pdpMulti = JSON.stringify({
    user: { name: seeded.alice.username },
    accesses: Array.from({ length: 100 }, (_, i) => ({
      resource: { name: `table:sales/s${(i * 37) % opts.policies}/t${i}` },
      permissions: ["select"],
    })),
    context: pdpContext,
  });
  return [
    { name: "bare POST", server: "bare", request: post(`${bareUrl}/bare`, "{}"), expect: 200 },
    { name: "GET /healthz", server: "gatehouse", request: { url: `${gh}/healthz` }, expect: 200 },
    { name: "GET /v1/whoami", server: "gatehouse", request: { url: `${gh}/v1/whoami`, headers: auth }, expect: 200 },
    { name: "POST /v1/decisions 400", server: "gatehouse", request: post(`${gh}/v1/decisions`, "{}"), expect: 400 },
    {
      name: "POST /v1/decisions 200",
      server: "gatehouse",
      request: post(`${gh}/v1/decisions`, JSON.stringify(seeded.decision(seeded.alice.username))),
      expect: 200,
    },
    {
      name: "POST /v1/decisions:batch of 100",
      server: "gatehouse",
      request: post(`${gh}/v1/decisions:batch`, batch),
      expect: 200,
    },
    {
      name: "POST /authz/v1/authorize 200",
      server: "gatehouse",
      request: post(`${gh}/authz/v1/authorize`, pdpSingle),
      expect: 200,
    },
    {
      name: "POST /authz/v1/authorizeMulti of 100",
      server: "gatehouse",
      request: post(`${gh}/authz/v1/authorizeMulti`, pdpMulti),
      expect: 200,
    },
  ];
}

/** The delegation setting the PDP scenarios need (the bench PSK's caller is named `psk`). */
export const PDP_DELEGATION = "*=psk";

/** What autocannon reports, as far as the per-route tools read it. */
export interface CannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  "2xx": number;
}

/** autocannon (CommonJS), typed for the per-route tools (cost.ts, instructions.ts). */
export const autocannon = createRequire(import.meta.url)("autocannon") as (
  o: Record<string, unknown>,
) => Promise<CannonResult>;
