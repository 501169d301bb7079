import KeycloakAdminClient, { NetworkError } from "@keycloak/keycloak-admin-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type KeycloakDouble, startKeycloakDouble } from "../../../test/support/keycloak-double.ts";
import { TargetError } from "../target.ts";
import { KeycloakTarget, type KeycloakTargetOptions } from "./keycloak-target.ts";

// The Keycloak target, driven through the vendor's admin client against the contract double
// (test/support/keycloak-double.ts: no Keycloak can run here). One double per file; each test uses its own names.

let kc: KeycloakDouble;
let seq = 0;
const uniq = (s: string) => `${s}-${++seq}`;

function target(extra: Partial<KeycloakTargetOptions> = {}): KeycloakTarget {
  return new KeycloakTarget({
    baseUrl: kc.baseUrl,
    realm: "gatehouse",
    clientId: "gatehouse-sync",
    clientSecret: "s3cret",
    timeoutMs: 1_000,
    ...extra,
  });
}

async function rejection(p: Promise<unknown>): Promise<TargetError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TargetError);
  return err as TargetError;
}

beforeAll(async () => {
  kc = await startKeycloakDouble({
    clients: [
      { clientId: "gatehouse-sync", secret: "s3cret", roles: ["manage-users", "view-users", "query-groups"] },
      { clientId: "read-only", secret: "ro", roles: ["view-users", "query-groups"] },
    ],
  });
  for (const u of ["ann", "anna", "bob", "carol", "dave"]) kc.addUser(u);
});
afterAll(async () => {
  await kc.close();
});
beforeEach(() => {
  kc.tokenTtlSeconds = 300;
});

describe("the Keycloak double, through the vendor client (the contract points the target relies on)", () => {
  let client: KeycloakAdminClient;
  beforeAll(async () => {
    client = new KeycloakAdminClient({ baseUrl: kc.baseUrl, realmName: "gatehouse" });
    await client.auth({ grantType: "client_credentials", clientId: "gatehouse-sync", clientSecret: "s3cret" });
  });

  it("answers 409 for a duplicate top-level group and for a duplicate subgroup, and finds groups by path", async () => {
    const top = uniq("top");
    const { id } = await client.groups.create({ name: top });
    const dup = await client.groups.create({ name: top }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(NetworkError);
    expect((dup as NetworkError).response.status).toBe(409);
    expect((dup as NetworkError).message).toBe(`Top level group named '${top}' already exists.`);

    const child = await client.groups.createChildGroup({ id }, { name: "child" });
    const dupChild = await client.groups.createChildGroup({ id }, { name: "child" }).catch((e: unknown) => e);
    expect((dupChild as NetworkError).response.status).toBe(409);
    expect((dupChild as NetworkError).message).toBe("Sibling group named 'child' already exists.");

    const byPath = await client.realms.getGroupByPath({ realm: "gatehouse", path: `/${top}/child` });
    expect(byPath).toMatchObject({ id: child.id, name: "child", path: `/${top}/child` });
    const none = await client.realms.getGroupByPath({ realm: "gatehouse", path: `/${top}/nope` }).catch((e) => e);
    expect((none as NetworkError).response.status).toBe(404);

    // A blank name is refused, as GroupsResource does.
    const blank = await client.groups.create({ name: " " }).catch((e: unknown) => e);
    expect((blank as NetworkError).response.status).toBe(400);
  });

  it("matches usernames as substrings unless exact=true, and pages subgroups with max defaulting to 10", async () => {
    const loose = await client.users.find({ username: "ann" });
    expect(loose.map((u) => u.username).sort()).toEqual(["ann", "anna"]);
    const exact = await client.users.find({ username: "ann", exact: true });
    expect(exact.map((u) => u.username)).toEqual(["ann"]);

    const { id } = await client.groups.create({ name: uniq("many") });
    for (let i = 0; i < 12; i++)
      await client.groups.createChildGroup({ id }, { name: `c${String(i).padStart(2, "0")}` });
    expect(await client.groups.listSubGroups({ parentId: id })).toHaveLength(10);
    const second = await client.groups.listSubGroups({ parentId: id, first: 10, max: 10 });
    expect(second.map((g) => g.name)).toEqual(["c10", "c11"]);
  });

  it("lists top-level groups in brief form by default and with attributes when asked", async () => {
    await client.groups.create({ name: uniq("attr"), attributes: { k: ["v"] } });
    const brief = await client.groups.find({ search: "attr-", exact: false });
    expect(brief.length).toBeGreaterThan(0);
    expect(brief[0].attributes).toBeUndefined();
    const full = await client.groups.find({ q: "k:v", briefRepresentation: false });
    expect(full[0].attributes).toEqual({ k: ["v"] });
  });

  it("refuses a wrong client secret and an expired token", async () => {
    const bad = new KeycloakAdminClient({ baseUrl: kc.baseUrl, realmName: "gatehouse" });
    const err = await bad
      .auth({ grantType: "client_credentials", clientId: "gatehouse-sync", clientSecret: "wrong" })
      .catch((e: unknown) => e);
    expect((err as NetworkError).response.status).toBe(401);

    const c = new KeycloakAdminClient({ baseUrl: kc.baseUrl, realmName: "gatehouse" });
    await c.auth({ grantType: "client_credentials", clientId: "gatehouse-sync", clientSecret: "s3cret" });
    kc.expireTokens();
    const expired = await c.groups.find({ max: 1 }).catch((e: unknown) => e);
    expect((expired as NetworkError).response.status).toBe(401);
  });
});

describe("KeycloakTarget", () => {
  it("creates nested paths with attributes and exact direct members, and a replay writes nothing", async () => {
    const root = uniq("org");
    const t = target();
    const group = {
      gatehouseId: "g-team",
      path: [root, "data", "team"],
      attributes: { label: ["blue"] },
      members: ["ann", "Bob"],
    };
    expect(await t.upsertGroup(group)).toEqual({ missingUsers: [] });
    expect(kc.groupAt([root, "data", "team"])).toMatchObject({
      attributes: { label: ["blue"], "gatehouse.id": ["g-team"] },
      members: ["ann", "bob"],
    });
    expect(kc.groupAt([root, "data"])?.members).toEqual([]);

    // Now the parent's own Gatehouse group arrives: the placeholder gets its attributes, not a second group.
    await t.upsertGroup({ gatehouseId: "g-data", path: [root, "data"], attributes: {}, members: ["carol"] });
    expect(kc.groupAt([root, "data"])).toMatchObject({
      attributes: { "gatehouse.id": ["g-data"] },
      members: ["carol"],
    });

    kc.resetStats();
    expect(await t.upsertGroup(group)).toEqual({ missingUsers: [] });
    expect(kc.stats.writes).toBe(0);

    // A change of members and labels writes exactly the difference.
    kc.resetStats();
    await t.upsertGroup({ ...group, attributes: { label: ["green"] }, members: ["ann", "dave"] });
    expect(kc.stats.byRoute).toMatchObject({
      "PUT groups/{id}": 1,
      "PUT users/{id}/groups/{groupId}": 1,
      "DELETE users/{id}/groups/{groupId}": 1,
    });
    expect(kc.groupAt([root, "data", "team"])).toMatchObject({
      attributes: { label: ["green"], "gatehouse.id": ["g-team"] },
      members: ["ann", "dave"],
    });
  });

  it("matches users by exact username and reports the missing ones (or creates them when configured)", async () => {
    const root = uniq("exact");
    const report = await target().upsertGroup({
      gatehouseId: "g-x",
      path: [root],
      attributes: {},
      members: ["ann", "zoe", "an"],
    });
    expect(report.missingUsers).toEqual(["an", "zoe"]);
    expect(kc.groupAt([root])?.members).toEqual(["ann"]);

    const created = await target({ createMissingUsers: true }).upsertGroup({
      gatehouseId: "g-x",
      path: [root],
      attributes: {},
      members: ["ann", "zoe"],
    });
    expect(created.missingUsers).toEqual([]);
    expect(kc.groupAt([root])?.members).toEqual(["ann", "zoe"]);
  });

  it("finds a user again when Keycloak deleted and recreated it (a stale cached id answers 404)", async () => {
    const root = uniq("stale");
    const t = target();
    kc.addUser("erin");
    await t.upsertGroup({ gatehouseId: "g-s1", path: [`${root}-1`], attributes: {}, members: ["erin"] });
    kc.removeUserDirectly("erin");
    kc.addUser("erin");
    kc.resetStats();
    await t.upsertGroup({ gatehouseId: "g-s2", path: [`${root}-2`], attributes: {}, members: ["erin"] });
    expect(kc.groupAt([`${root}-2`])?.members).toEqual(["erin"]);
    expect(kc.stats.byRoute["GET users"]).toBe(1);
  });

  it("reconciles a 409 race: another writer created the group between lookup and create", async () => {
    const root = uniq("race");
    kc.createGroupDirectly([root]);
    kc.raceOnCreate("leaf");
    await target().upsertGroup({ gatehouseId: "g-leaf", path: [root, "leaf"], attributes: {}, members: ["bob"] });
    expect(kc.groupAt([root, "leaf"])).toMatchObject({ attributes: { "gatehouse.id": ["g-leaf"] }, members: ["bob"] });

    kc.raceOnCreate(`${root}-top`);
    await target().upsertGroup({ gatehouseId: "g-top", path: [`${root}-top`], attributes: {}, members: [] });
    expect(kc.groupAt([`${root}-top`])?.attributes).toEqual({ "gatehouse.id": ["g-top"] });
  });

  it("re-authenticates once on 401 and refreshes a token before it expires", async () => {
    const t = target();
    await t.upsertGroup({ gatehouseId: "g-a", path: [uniq("auth")], attributes: {}, members: [] });
    kc.resetStats();
    kc.expireTokens();
    await t.upsertGroup({ gatehouseId: "g-b", path: [uniq("auth")], attributes: {}, members: [] });
    expect(kc.stats.tokens).toBe(1);

    // A token living 5 s is inside the 10 s margin: a fresh one is fetched without waiting for a 401.
    kc.tokenTtlSeconds = 5;
    const short = target();
    await short.upsertGroup({ gatehouseId: "g-c", path: [uniq("auth")], attributes: {}, members: [] });
    kc.resetStats();
    await short.upsertGroup({ gatehouseId: "g-d", path: [uniq("auth")], attributes: {}, members: [] });
    expect(kc.stats.tokens).toBeGreaterThan(0);
  });

  it("maps faults to TargetError: 503 and dropped connections and timeouts retryable, bad credentials not", async () => {
    const path = [uniq("fault")];
    const t = target();
    await t.check();
    kc.failNext(1, 503);
    const e503 = await rejection(t.upsertGroup({ gatehouseId: "g-f", path, attributes: {}, members: [] }));
    expect(e503).toMatchObject({ target: "keycloak", status: 503, retryable: true });
    expect(e503.message).toMatch(/^503 /);

    kc.dropNext(1);
    const dropped = await rejection(t.upsertGroup({ gatehouseId: "g-f", path, attributes: {}, members: [] }));
    expect(dropped).toMatchObject({ status: undefined, retryable: true });

    kc.delayNext(1, 1_500);
    const slow = await rejection(t.upsertGroup({ gatehouseId: "g-f", path, attributes: {}, members: [] }));
    expect(slow).toMatchObject({ status: undefined, retryable: true });
    expect(slow.message).toMatch(/timeout/);

    await kc.down();
    const down = await rejection(t.upsertGroup({ gatehouseId: "g-f", path, attributes: {}, members: [] }));
    expect(down).toMatchObject({ retryable: true });
    expect(down.message).toMatch(/unreachable/);
    await kc.up();

    // After the faults, the same delivery converges.
    await t.upsertGroup({ gatehouseId: "g-f", path, attributes: {}, members: ["ann"] });
    expect(kc.groupAt(path)?.members).toEqual(["ann"]);

    const bad = await rejection(
      target({ clientSecret: "wrong" }).upsertGroup({ gatehouseId: "g", path, attributes: {}, members: [] }),
    );
    expect(bad).toMatchObject({ status: 401, retryable: false });
    const refused = await rejection(
      target().upsertGroup({ gatehouseId: "g", path: ["a/b"], attributes: {}, members: [] }),
    );
    expect(refused.retryable).toBe(false);
  });

  it("moves and renames the Keycloak group when the Gatehouse group is renamed or moved, keeping its members", async () => {
    const root = uniq("mv");
    const t = target();
    await t.upsertGroup({ gatehouseId: `${root}-g`, path: [root, "a", "old"], attributes: {}, members: ["ann"] });
    const id = kc.groupAt([root, "a", "old"])!.id;
    await t.upsertGroup({
      gatehouseId: `${root}-g`,
      path: [root, "b", "new"],
      attributes: { l: ["x"] },
      members: ["ann"],
    });
    expect(kc.groupAt([root, "a", "old"])).toBeUndefined();
    expect(kc.groupAt([root, "b", "new"])).toEqual({
      id,
      attributes: { l: ["x"], "gatehouse.id": [`${root}-g`] },
      members: ["ann"],
    });
    // Up to the top level, same name: a move only.
    await t.upsertGroup({ gatehouseId: `${root}-g`, path: [`${root}-top`], attributes: { l: ["x"] }, members: [] });
    expect(kc.groupAt([`${root}-top`])).toMatchObject({ id, members: [] });
    expect(kc.groupAt([root, "b", "new"])).toBeUndefined();
  });

  it("leaves no copy when a renamed parent arrives after its subgroup (found by the fault test)", async () => {
    const old = uniq("par");
    const renamed = `${old}-renamed`;
    const t = target();
    await t.upsertGroup({ gatehouseId: `${old}-p`, path: [old], attributes: {}, members: ["bob"] });
    await t.upsertGroup({ gatehouseId: `${old}-c`, path: [old, "kid"], attributes: {}, members: ["ann"] });
    // the parent was renamed; the subgroup's delivery comes first and creates the new parent bare
    await t.upsertGroup({ gatehouseId: `${old}-c`, path: [renamed, "kid"], attributes: {}, members: ["ann"] });
    await t.upsertGroup({ gatehouseId: `${old}-p`, path: [renamed], attributes: {}, members: ["bob"] });
    expect(kc.groupAt([old])).toBeUndefined();
    expect(kc.groupAt([renamed])).toMatchObject({ attributes: { "gatehouse.id": [`${old}-p`] }, members: ["bob"] });
    expect(kc.groupAt([renamed, "kid"])).toMatchObject({ members: ["ann"] });
  });

  it("deletes by the gatehouse.id attribute, idempotently, leaving other groups at the path alone", async () => {
    const root = uniq("del");
    const t = target();
    await t.upsertGroup({ gatehouseId: `${root}-g`, path: [root, "x"], attributes: {}, members: ["ann"] });
    await t.deleteGroup({ gatehouseId: `${root}-g`, path: [root, "x"] });
    expect(kc.groupAt([root, "x"])).toBeUndefined();
    expect(kc.groupAt([root])).toBeDefined();
    await t.deleteGroup({ gatehouseId: `${root}-g`, path: [root, "x"] });

    kc.createGroupDirectly([root, "handmade"]);
    await t.deleteGroup({ gatehouseId: "not-there", path: [root, "handmade"] });
    expect(kc.groupAt([root, "handmade"])).toBeDefined();
  });

  it("check() reports the token, the realm and the rights", async () => {
    expect(await target().check()).toMatchObject({ ok: true });
    const ro = await target({ clientId: "read-only", clientSecret: "ro" }).check();
    expect(ro.ok).toBe(false);
    expect(ro.detail).toMatch(/manage-users/);
    expect((await target({ realm: "nope" }).check()).ok).toBe(false);
    expect((await target({ clientSecret: "x" }).check()).detail).toMatch(/authentication failed/);
  });
});

describe("KeycloakTarget.listGroups", () => {
  let fresh: KeycloakDouble;
  afterAll(async () => {
    await fresh.close();
  });

  it("pages the whole tree with members and attributes, over more groups than one page", async () => {
    fresh = await startKeycloakDouble();
    for (const u of ["ann", "bob"]) fresh.addUser(u);
    const t = new KeycloakTarget({
      baseUrl: fresh.baseUrl,
      realm: "gatehouse",
      clientId: "gatehouse-sync",
      clientSecret: "s3cret",
      pageSize: 5,
    });
    const expected = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const top = `t${String(i).padStart(2, "0")}`;
      await t.upsertGroup({ gatehouseId: `g-${top}`, path: [top], attributes: {}, members: ["ann"] });
      expected.set(`g-${top}`, top);
    }
    // Nested groups: 7 children under one parent (more than a page of 5) and one grandchild.
    for (let i = 0; i < 7; i++) {
      await t.upsertGroup({ gatehouseId: `g-c${i}`, path: ["t03", `c${i}`], attributes: {}, members: ["bob"] });
      expected.set(`g-c${i}`, `t03/c${i}`);
    }
    await t.upsertGroup({ gatehouseId: "g-gc", path: ["t03", "c6", "gc"], attributes: { l: ["1"] }, members: [] });
    expected.set("g-gc", "t03/c6/gc");

    const seen = new Map<string, string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await t.listGroups(cursor);
      for (const g of page.groups) seen.set(g.gatehouseId, g.path.join("/"));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(expected);
    const first = await t.listGroups();
    expect(first.groups.find((g) => g.gatehouseId === "g-c6")).toEqual({
      gatehouseId: "g-c6",
      path: ["t03", "c6"],
      attributes: { "gatehouse.id": ["g-c6"] },
      members: ["bob"],
    });
  });
});
