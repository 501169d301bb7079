// The decisions benchmarks' data: a service with 1,000 policies (one per schema, audit off), a
// group, a member of it (alice) and an outsider (bob), created through the API of one server.

/** Calls a gatehouse API with the bench PSK; throws on a non-2xx answer. */
export type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/** An `Api` for the server at `url`. */
export function apiOf(url: string, psk: string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { "authorization-psk": psk, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** What the seed created, and the decision request the benchmarks send. */
export interface Seeded {
  service: string;
  group: { id: string; name: string };
  alice: { id: string; username: string };
  bob: { id: string; username: string };
  /** Id of policy `p7` (the one the single-decision request matches). */
  targetId: number;
  decision(user: string, schema?: string): Record<string, unknown>;
}

/** Seeds a fresh service (names suffixed, so runs against a shared database never collide). */
export async function seed(api: Api, policyCount = 1_000): Promise<Seeded> {
  const suffix = Date.now().toString(36);
  const service = `bench-${suffix}`;
  await api("POST", "/v1/services", { name: service, type: "trino" });
  type Named = { id: string; name: string };
  type User = { id: string; username: string };
  const group = await api<Named>("POST", "/v1/groups", { name: `analysts-${suffix}` });
  const alice = await api<User>("POST", "/v1/users", { username: `alice-${suffix}` });
  const bob = await api<User>("POST", "/v1/users", { username: `bob-${suffix}` });
  await api("PUT", `/v1/groups/${group.id}/members/${alice.id}`);
  for (let i = 0; i < policyCount; i++) {
    await api("POST", `/v1/services/${service}/policies`, {
      name: `p${i}`,
      isAuditEnabled: false,
      resources: { catalog: { values: ["sales"] }, schema: { values: [`s${i}`] }, table: { values: ["*"] } },
      policyItems: [{ groups: [group.name], accesses: [{ type: "select" }] }],
    });
  }
  const target = await api<{ items: { id: number }[] }>("GET", `/v1/services/${service}/policies?policyName=p7`);
  return {
    service,
    group,
    alice,
    bob,
    targetId: target.items[0]?.id ?? -1,
    decision: (user, schema = "s7") => ({
      service,
      user,
      resource: { catalog: "sales", schema, table: "orders" },
      accessType: "select",
    }),
  };
}
