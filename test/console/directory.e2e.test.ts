import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestLdap } from "../support/ldap.ts";
import { type ConsoleHarness, startConsoleHarness } from "./harness.ts";

/**
 * The console's directory pages end to end, in real Chromium against a real `gatehouse serve`
 * process: a user's roles, role bindings, API keys (issued, used, revoked) and what the user can
 * access; an identity source registered with a field error, then fixed and edited without its
 * password ever coming back; a directory group's members browsed from its source and from the
 * synced group's page (a throwaway slapd); the organisation picker of the users and groups pages;
 * and a viewer's read-only user page.
 */

const sfx = Math.random().toString(36).slice(2, 7);
const USER = `una-${sfx}`;
const GROUP = `readers-${sfx}`;
const ROLE = `stewards-${sfx}`;
const POLICY = `read-${sfx}`;
const SOURCE = `dir-${sfx}`;
const SECRET = `bind-secret-${sfx}-never-shown`;

describe("the console's directory pages in Chromium", () => {
  let h: ConsoleHarness;
  let user: { id: string };

  /** `GET /v1/whoami` with an API key: the status says whether the key still works. */
  const whoamiWith = async (key: string) =>
    (await fetch(`${h.url}/v1/whoami`, { headers: { "authorization-psk": key } })).status;

  beforeAll(async () => {
    h = await startConsoleHarness();
    user = (await h.asAdmin("POST", "/v1/users", { username: USER })) as { id: string };
    const group = (await h.asAdmin("POST", "/v1/groups", { name: GROUP })) as { id: string };
    await h.asAdmin("PUT", `/v1/groups/${group.id}/members/${user.id}`);
    await h.asAdmin("POST", "/v1/roles", { name: ROLE });
    const roles = (await h.asAdmin("GET", "/v1/roles?builtin=true&limit=50")) as {
      items: { id: string; name: string }[];
    };
    const viewer = roles.items.find((r) => r.name === "viewer");
    await h.asAdmin("POST", "/v1/role-bindings", { roleId: viewer?.id, principal: { type: "user", id: user.id } });
    await h.asAdmin("POST", "/v1/services/trino/policies", {
      name: POLICY,
      service: "trino",
      resources: {
        catalog: { values: [`cat${sfx}`] },
        schema: { values: ["*"] },
        table: { values: ["*"] },
        column: { values: ["*"] },
      },
      policyItems: [{ accesses: [{ type: "select", isAllowed: true }], groups: [GROUP] }],
    });
  }, 420_000);

  afterAll(async () => {
    await h?.close();
  });

  it("a user's page shows roles, binds one, issues and revokes a key, and lists what the user can access", {
    timeout: 240_000,
  }, async () => {
    const { context, page } = await h.open();
    await h.signIn(page, h.psk);
    await page.goto(`${h.url}/console/users`);
    await page.getByLabel("Search users").fill(USER);
    await page.getByRole("link", { name: USER, exact: true }).click();
    await page.getByRole("heading", { name: `User ${USER}` }).waitFor();

    // roles: the viewer binding is held; a role is bound on the page, then held too
    await page.getByRole("tab", { name: "Roles" }).click();
    expect(page.url()).toContain("tab=roles");
    const held = page.getByRole("table", { name: "roles of this user" });
    await held.getByRole("link", { name: "viewer" }).waitFor();
    await page.getByLabel(/^Role\s*\*?$/).selectOption({ label: ROLE });
    await page.getByRole("button", { name: "Bind role" }).click();
    await page.getByRole("table", { name: "role bindings" }).getByRole("cell", { name: ROLE, exact: true }).waitFor();
    const bindings = (await h.asAdmin("GET", `/v1/role-bindings?principalType=user&principalId=${user.id}`)) as {
      items: unknown[];
    };
    expect(bindings.items).toHaveLength(2);
    await page.reload(); // the tab lives in the URL
    await held.getByRole("link", { name: ROLE }).waitFor();
    await h.expectAccessible(page, "user roles");
    await h.shoot(page, "user-roles");

    // API keys: issued with the secret shown once, it works, then it is revoked and refused
    await page.getByRole("tab", { name: "API keys" }).click();
    await page.getByLabel(/^Key name/).fill(`ci-${sfx}`);
    await page.getByRole("button", { name: "Issue key" }).click();
    const key = ((await page.getByTestId("issued-key").textContent()) ?? "").trim();
    expect(key.length).toBeGreaterThan(20);
    expect(await whoamiWith(key)).toBe(200);
    const keys = page.getByRole("table", { name: "API keys" });
    await keys.getByRole("cell", { name: `ci-${sfx}`, exact: true }).waitFor();
    await h.expectAccessible(page, "user API keys");
    await h.shoot(page, "user-api-keys");
    await page.getByRole("button", { name: "Done, hide the key" }).click();
    expect(await page.getByTestId("issued-key").count()).toBe(0);
    expect(await page.content()).not.toContain(key);
    await keys.getByRole("button", { name: `Revoke ci-${sfx}` }).click();
    await keys.getByText(/^revoked/).waitFor();
    await expect.poll(() => whoamiWith(key)).toBe(401);

    // what the user can access: the group's policy, through the group
    await page.getByRole("tab", { name: "Access" }).click();
    await page.getByLabel("Service").selectOption("trino");
    await page.waitForURL((u) => u.searchParams.get("service") === "trino");
    const access = page.getByRole("table", { name: "policy items reaching this user" });
    const row = access.getByRole("row").filter({ hasText: POLICY });
    await row.getByText(`group ${GROUP}`).waitFor();
    await row.getByText("select", { exact: true }).waitFor();
    await h.expectAccessible(page, "user access");
    await h.shoot(page, "user-access");
    await context.close();
  });

  it("an identity source is registered after a field error, and edited without its password coming back", {
    timeout: 180_000,
  }, async () => {
    const { context, page } = await h.open();
    await h.signIn(page, h.psk);
    let sourceId = "";
    try {
      await page.goto(`${h.url}/console/identity-sources`);
      await page.getByRole("button", { name: "Register an identity source" }).click();
      const form = page.getByRole("form", { name: "Register an identity source" });
      await form.getByRole("textbox", { name: /^Name/ }).fill(SOURCE);
      await form.getByRole("textbox", { name: /^URL/ }).fill("http://127.0.0.1:9");
      await form.getByRole("textbox", { name: /^Base DN/ }).fill("dc=example,dc=org");
      await form.getByLabel("Bind credential").selectOption({ label: "a password, stored encrypted" });
      await form.locator('input[type="password"]').fill(SECRET);
      await form.getByRole("button", { name: "Register identity source" }).click();
      await form
        .getByText(/body\.config\.url: must match pattern/)
        .first()
        .waitFor();
      expect(await form.getByRole("textbox", { name: /^URL/ }).getAttribute("aria-invalid")).toBe("true");
      const none = (await h.asAdmin("GET", "/v1/identity-sources?limit=100")) as { items: { name: string }[] };
      expect(none.items.map((s) => s.name)).not.toContain(SOURCE);
      await form.getByRole("textbox", { name: /^URL/ }).scrollIntoViewIfNeeded();
      await h.expectAccessible(page, "identity source form with a field error");
      await h.shoot(page, "identity-source-field-error");

      await form.getByRole("textbox", { name: /^URL/ }).fill("ldap://127.0.0.1:9");
      await form.getByRole("button", { name: "Register identity source" }).click();
      await page.getByRole("heading", { name: `Identity source ${SOURCE}` }).waitFor();
      sourceId = page.url().split("/identity-sources/")[1]?.split("?")[0] ?? "";
      await page.getByText(/credential stored/).waitFor();
      expect(await page.content()).not.toContain(SECRET);
      const stored = await h.asAdmin("GET", `/v1/identity-sources/${sourceId}`);
      expect(JSON.stringify(stored)).not.toContain(SECRET);

      // edit: the password input starts empty (kept unless replaced); a bad schedule is named, then fixed
      await page.getByRole("button", { name: "Edit settings" }).click();
      const edit = page.getByRole("form", { name: "Edit identity source" });
      expect(await edit.locator('input[type="password"]').count()).toBe(0);
      await edit.getByRole("textbox", { name: /^Sync schedule/ }).fill("every tuesday");
      await edit.getByRole("button", { name: "Save identity source" }).click();
      await edit
        .getByText(/neither an interval/)
        .first()
        .waitFor();
      expect(await edit.getByRole("textbox", { name: /^Sync schedule/ }).getAttribute("aria-invalid")).toBe("true");
      await edit.getByRole("textbox", { name: /^Sync schedule/ }).fill("1h");
      await edit.getByRole("button", { name: "Save identity source" }).click();
      await page.getByText(/schedule 1h/).waitFor();
      const edited = (await h.asAdmin("GET", `/v1/identity-sources/${sourceId}`)) as {
        config: { syncSchedule: string };
        credential: { kind: string };
      };
      expect(edited.config.syncSchedule).toBe("1h");
      expect(edited.credential.kind).toBe("stored");
      await h.expectAccessible(page, "identity source");
    } finally {
      // on PostgreSQL the suite shares one database: a source nobody listens for would make every
      // later LDAP-validated group creation in this organisation answer 502
      if (sourceId) await h.asAdmin("DELETE", `/v1/identity-sources/${sourceId}`);
      await context.close();
    }
  });

  it("a directory group's members are browsed from its identity source and from the synced group's page", {
    timeout: 180_000,
  }, async () => {
    const BASE = "dc=example,dc=org";
    const person = (uid: string) =>
      `dn: uid=${uid},ou=people,${BASE}\nobjectClass: inetOrgPerson\ncn: ${uid}\nsn: ${uid}\nuid: ${uid}\n`;
    const group = (cn: string, members: string[]) =>
      `dn: cn=${cn},ou=groups,${BASE}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${m}`).join("\n")}\n`;
    const CREW = `crew-${sfx}`;
    const SUB = `sub-${sfx}`;
    const ldap = await startTestLdap({
      ldif: [
        `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
        `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
        `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
        person(`ada-${sfx}`),
        person(`bo-${sfx}`),
        group(SUB, [`uid=bo-${sfx},ou=people,${BASE}`]),
        group(CREW, [`uid=ada-${sfx},ou=people,${BASE}`, `cn=${SUB},ou=groups,${BASE}`]),
      ].join("\n"),
    });
    const { context, page } = await h.open();
    let sourceId = "";
    try {
      const source = (await h.asAdmin("POST", "/v1/identity-sources", {
        name: `slapd-${sfx}`,
        kind: "ldap",
        config: { url: ldap.url, baseDn: BASE, userBaseDn: `ou=people,${BASE}`, groupBaseDn: `ou=groups,${BASE}` },
      })) as { id: string };
      sourceId = source.id;
      await h.signIn(page, h.psk);

      // from the source's page: search the directory's groups, open one's members, direct then nested
      await page.goto(`${h.url}/console/identity-sources/${sourceId}?kind=groups`);
      await page.getByLabel("Search directory groups").fill(CREW);
      await page.getByRole("button", { name: `Members of ${CREW}` }).click();
      const members = page.getByRole("table", { name: "directory members" });
      await members.getByText(`cn=${SUB},ou=groups,${BASE}`).waitFor();
      await members.getByText(`uid=ada-${sfx},ou=people,${BASE}`).waitFor();
      expect(new URL(page.url()).searchParams.get("members")).toBe(`cn=${CREW},ou=groups,${BASE}`);
      await page.getByText("Nested users").click();
      await members.getByText(`uid=bo-${sfx},ou=people,${BASE}`).waitFor();
      expect(await members.getByText(`cn=${SUB},ou=groups,${BASE}`).count()).toBe(0);
      await page.reload(); // the group and the choice live in the URL
      await members.getByText(`uid=bo-${sfx},ou=people,${BASE}`).waitFor();
      await h.expectAccessible(page, "a directory group's members");

      // once synced, the Gatehouse group's page finds its directory entry and its members
      await h.asAdmin("POST", `/v1/identity-sources/${sourceId}/sync?wait=true&mode=full`);
      const synced = (await h.asAdmin("GET", `/v1/groups?q=${CREW}`)) as { items: { id: string; name: string }[] };
      const crew = synced.items.find((g) => g.name === CREW);
      expect(crew).toBeDefined();
      await page.goto(`${h.url}/console/groups/${crew?.id}`);
      await page.getByRole("heading", { name: "In the directory" }).waitFor();
      await page.getByRole("button", { name: `Directory members of ${CREW}` }).click();
      await members.getByText(`uid=ada-${sfx},ou=people,${BASE}`).waitFor();
      await h.expectAccessible(page, "a synced group's page");
    } finally {
      if (sourceId) await h.asAdmin("DELETE", `/v1/identity-sources/${sourceId}`);
      await context.close();
      await ldap.stop();
    }
  });

  it("the users and groups pages show the organisation chosen in the picker, kept in the URL", {
    timeout: 180_000,
  }, async () => {
    const org = (await h.asAdmin("POST", "/v1/orgs", { name: `picked-${sfx}` })) as { id: string };
    await h.asAdmin("POST", "/v1/users", { orgId: org.id, username: `olga-${sfx}` });
    await h.asAdmin("POST", "/v1/groups", { orgId: org.id, name: `crew-${sfx}` });
    const { context, page } = await h.open();
    await h.signIn(page, h.psk);

    const pick = async (p: Page) => {
      const option = p.getByLabel("Organisation").locator("option", { hasText: `picked-${sfx}` });
      await p.getByText(/organisations listed/).waitFor();
      // the suite's shared database may hold more organisations than one page of the picker
      while ((await option.count()) === 0) {
        await p.getByRole("button", { name: "More organisations" }).click();
        await p.waitForLoadState("networkidle");
      }
      await p.getByLabel("Organisation").selectOption({ label: `picked-${sfx}` });
      await p.waitForURL((u) => u.searchParams.get("org") === org.id);
    };
    await page.goto(`${h.url}/console/users`);
    await pick(page);
    const users = page.getByRole("table", { name: "users" });
    await users.getByRole("link", { name: `olga-${sfx}` }).waitFor();
    expect(await users.getByRole("link", { name: USER }).count()).toBe(0);
    await page.reload();
    expect(await page.getByLabel("Organisation").inputValue()).toBe(org.id);
    await users.getByRole("link", { name: `olga-${sfx}` }).waitFor();
    // a user created here goes to the chosen organisation
    await page.getByLabel("New username").fill(`otto-${sfx}`);
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("status").getByText(`otto-${sfx}`).waitFor();
    const inOrg = (await h.asAdmin("GET", `/v1/users?orgId=${org.id}&q=otto-${sfx}`)) as { total: number };
    expect(inOrg.total).toBe(1);
    await h.expectAccessible(page, "users of a picked organisation");

    await page.goto(`${h.url}/console/groups`);
    await pick(page);
    await page
      .getByRole("table", { name: "groups" })
      .getByRole("link", { name: `crew-${sfx}` })
      .waitFor();
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has("org"));
    expect(await page.getByLabel("Organisation").inputValue()).toBe("");
    await context.close();
  });

  it("a viewer's user page has no write controls and says what keys need", { timeout: 120_000 }, async () => {
    const vic = (await h.asAdmin("POST", "/v1/users", { username: `vic-${sfx}` })) as { id: string };
    const roles = (await h.asAdmin("GET", "/v1/roles?builtin=true&limit=50")) as {
      items: { id: string; name: string }[];
    };
    const viewer = roles.items.find((r) => r.name === "viewer");
    await h.asAdmin("POST", "/v1/role-bindings", { roleId: viewer?.id, principal: { type: "user", id: vic.id } });
    const { key } = (await h.asAdmin("POST", "/v1/api-keys", { userId: vic.id, name: "viewer e2e" })) as {
      key: string;
    };
    const { context, page } = await h.open();
    await h.signIn(page, key);
    await page.goto(`${h.url}/console/users/${user.id}?tab=roles`);
    await page.getByRole("table", { name: "role bindings" }).getByRole("cell", { name: ROLE, exact: true }).waitFor();
    await page.getByRole("tab", { name: "API keys" }).click();
    await page.getByText(/needs the credentials\.write ability/).waitFor();
    for (const tab of ["Roles", "API keys", "Access"]) {
      await page.getByRole("tab", { name: tab }).click();
      await page.waitForLoadState("networkidle");
      for (const name of [/bind/i, /issue/i, /revoke/i, /^remove/i]) {
        expect(await page.getByRole("button", { name }).count(), `${tab}: ${name}`).toBe(0);
      }
    }
    await h.expectAccessible(page, "a viewer's user page");
    await page.goto(`${h.url}/console/identity-sources`);
    await page.getByRole("table", { name: "identity sources" }).waitFor();
    expect(await page.getByRole("button", { name: /register/i }).count()).toBe(0);
    // a narrow window: the tabs still switch (the tables scroll sideways)
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${h.url}/console/users/${user.id}?tab=roles`);
    await page.getByRole("tab", { name: "API keys" }).click();
    await page.getByText(/needs the credentials\.write ability/).waitFor();
    await h.expectAccessible(page, "a viewer's user page in a narrow window");
    await context.close();
  });
});
