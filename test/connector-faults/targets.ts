import { KeycloakDouble } from "../support/keycloak-double.ts";
import { type RangerTargetServer, startRangerTarget } from "../support/ranger-target.ts";

/** What the scenario knows of Gatehouse at the end: groups (with parents) and their direct members. */
export interface DirectoryModel {
  /** group id → its name, its parent's id, its direct members' usernames */
  groups: Map<string, { name: string; parentId: string | undefined; members: Set<string> }>;
}

/**
 * A connector's target in the fault scenario: how to configure a connector for it, how to take it
 * down and bring it back, and its whole content next to what Gatehouse says it must hold.
 */
export interface FaultTarget {
  readonly kind: "ranger" | "keycloak";
  /** The `POST /v1/connectors` body for a connector over `orgId`. */
  connector(name: string, orgId: string): Record<string, unknown>;
  /** A user Gatehouse will carry; Keycloak matches members to users it already has. */
  addUser(username: string): void;
  down(): Promise<void>;
  up(): Promise<void>;
  /** Everything the target holds, keyed as `expected` keys it. */
  content(): Promise<Record<string, string[]>>;
  /** What the target must hold for this directory. */
  expected(model: DirectoryModel): Record<string, string[]>;
  close(): Promise<void>;
}

const RETRY = { maxAttempts: 1000, retryMaxMs: 500 };

/**
 * Ranger: a second Gatehouse serving Ranger's user API (test/support/ranger-target.ts); down is
 * its process stopped, up a new process on the same data and port. Ranger's groups are flat: a
 * group holds its effective members; a renamed or deleted group is hidden, not visible.
 */
export async function rangerFaultTarget(): Promise<FaultTarget> {
  const ranger: RangerTargetServer = await startRangerTarget();
  return {
    kind: "ranger",
    connector: (name, orgId) => ({
      name,
      kind: "ranger",
      orgIds: [orgId],
      config: { baseUrl: ranger.url, username: ranger.username, ...RETRY },
      password: ranger.password,
    }),
    addUser: () => {},
    down: () => ranger.stop(),
    up: () => ranger.start(),
    async content() {
      const members = await ranger.groupUsers();
      return Object.fromEntries((await ranger.visibleGroups()).map((g) => [g, members[g] ?? []]));
    },
    expected(model) {
      const out: Record<string, string[]> = {};
      for (const [id, g] of model.groups) {
        const all = new Set<string>();
        for (const [, other] of descendantsOrSelf(model, id)) for (const m of other.members) all.add(m);
        out[g.name] = [...all].sort();
      }
      return out;
    },
    close: () => ranger.destroy(),
  };
}

/**
 * Keycloak: the contract double (test/support/keycloak-double.ts) in this process; down closes its
 * port and cuts open connections, up listens again on the same port, and faults are injected on the
 * way back (503s and dropped connections). Groups nest under the same path; direct members only.
 */
export async function keycloakFaultTarget(): Promise<FaultTarget> {
  const kc = new KeycloakDouble({ realm: "faults" });
  await kc.start();
  return {
    kind: "keycloak",
    connector: (name, orgId) => ({
      name,
      kind: "keycloak",
      orgIds: [orgId],
      config: { baseUrl: kc.baseUrl, realm: "faults", clientId: "gatehouse-sync", ...RETRY },
      clientSecret: "s3cret",
    }),
    addUser: (username) => void kc.addUser(username),
    down: () => kc.down(),
    async up() {
      await kc.up();
      kc.failNext(5, 503);
      kc.dropNext(3);
    },
    content: async () => kc.snapshot(),
    expected(model) {
      const out: Record<string, string[]> = {};
      for (const [id, g] of model.groups) out[pathOf(model, id)] = [...g.members].sort();
      return out;
    },
    close: () => kc.close(),
  };
}

function pathOf(model: DirectoryModel, id: string): string {
  const names: string[] = [];
  for (let g = model.groups.get(id); g; g = g.parentId ? model.groups.get(g.parentId) : undefined)
    names.unshift(g.name);
  return `/${names.join("/")}`;
}

function descendantsOrSelf(model: DirectoryModel, id: string): [string, { members: Set<string> }][] {
  const out: [string, { members: Set<string> }][] = [];
  const walk = (at: string) => {
    const g = model.groups.get(at);
    if (!g) return;
    out.push([at, g]);
    for (const [child, c] of model.groups) if (c.parentId === at) walk(child);
  };
  walk(id);
  return out;
}
