import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleHarness, startConsoleHarness } from "./harness.ts";

/**
 * The console's reference pages end to end, in real Chromium against a real `gatehouse serve`:
 * create a zone (a bad resource level is named under the resources it came from), edit a role's
 * composites and bind it, define a tag type and tag a resource with it, the overview's connectors
 * and LDAP syncs, the audit's date-time filter kept in the URL as ISO, a service and a service-def
 * edited (the def as JSON, with the server's field errors), and a zone administrator
 * (no built-in role) who finds its zone first and edits only its admin and audit lists.
 */

const sfx = Math.random().toString(36).slice(2, 7);
const ZONE = `zone-${sfx}`;
const ZONE_ADMIN = `zed-${sfx}`;
const ROLE = `steward-${sfx}`;
const COMPOSITE = `reader-${sfx}`;
const TAG = `PII_${sfx}`;

/** `YYYY-MM-DDTHH:mm` in this machine's time zone (Chromium's too), as a `datetime-local` input takes it. */
function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

describe("console reference pages in Chromium", () => {
  let h: ConsoleHarness;
  let zoneAdminKey: string;
  let zoneId: number;
  const cleanup: [string, string][] = [];

  beforeAll(async () => {
    h = await startConsoleHarness();
    const user = await h.asAdmin<{ id: string }>("POST", "/v1/users", { username: ZONE_ADMIN });
    zoneAdminKey = (
      await h.asAdmin<{ key: string }>("POST", "/v1/api-keys", { userId: user.id, name: "zone admin e2e" })
    ).key;
  }, 420_000);

  afterAll(async () => {
    // on PostgreSQL the suite shares one database: leave no source, connector or zone behind
    for (const [method, path] of cleanup.reverse()) await h?.asAdmin(method, path).catch(() => undefined);
    await h?.close();
  });

  const goto = (page: Page, path: string) => page.goto(`${h.url}/console${path}`);

  it("an administrator creates a zone, and filters its audit events by date-time", { timeout: 180_000 }, async () => {
    const page = await h.signedIn(h.psk);
    await goto(page, "/zones");
    const form = page.getByRole("form", { name: "New zone" });
    await form.getByLabel("Name").fill(ZONE);
    await form.getByRole("button", { name: "Add a service" }).click();
    await form.getByLabel("Service 1", { exact: true }).selectOption("trino");
    await form.getByLabel("Resources of service 1").fill(`bogus=x`);
    await form.getByRole("textbox", { name: "Admin users" }).fill(ZONE_ADMIN);
    await form.getByRole("textbox", { name: "Admin users" }).press("Enter");
    await form.getByRole("button", { name: "Create zone" }).click();
    // the server names the level the trino service-def does not have, under the resources it came from
    await form.locator(".mantine-InputWrapper-error", { hasText: "bogus" }).waitFor();
    await form.getByLabel("Resources of service 1").fill(`catalog=zcat${sfx}\ncatalog=zother${sfx},schema=eu|us`);
    await form.getByRole("button", { name: "Create zone" }).click();
    await page.getByRole("heading", { name: `Zone ${ZONE}` }).waitFor();
    cleanup.push(["DELETE", `/v1/zones/${ZONE}`]);
    const zone = await h.asAdmin<{ id: number; services: unknown; adminUsers: string[] }>("GET", `/v1/zones/${ZONE}`);
    zoneId = zone.id;
    expect(zone.services).toEqual({
      trino: { resources: [{ catalog: [`zcat${sfx}`] }, { catalog: [`zother${sfx}`], schema: ["eu", "us"] }] },
    });
    expect(zone.adminUsers).toEqual([ZONE_ADMIN]);
    await h.expectAccessible(page, "zone");

    // the audit's time filter: a date-time input, kept in the URL as an ISO instant
    await goto(page, `/audit?targetType=zone&targetId=${zoneId}`);
    await page.getByText("1 admin events").waitFor();
    const tomorrow = new Date(Date.now() + 86_400_000);
    await page.getByLabel("From").fill(localInput(tomorrow));
    await page.getByText("0 admin events").waitFor();
    const from = new URL(page.url()).searchParams.get("from");
    expect(from).toBe(new Date(localInput(tomorrow)).toISOString());
    await page.reload(); // the filter lives in the URL
    await page.getByText("0 admin events").waitFor();
    expect(await page.getByLabel("From").inputValue()).toBe(localInput(tomorrow));
    await page.getByLabel("From").fill(localInput(new Date(Date.now() - 3_600_000)));
    await page.getByText("1 admin events").waitFor();
    await page.getByRole("table", { name: "admin events" }).getByText("zone.created").waitFor();
    await h.expectAccessible(page, "audit with a date filter");
    await page.context().close();
  });

  it("an administrator creates a role, edits its composites and binds it on its page", {
    timeout: 180_000,
  }, async () => {
    await h.asAdmin("POST", "/v1/roles", { name: COMPOSITE });
    const page = await h.signedIn(h.psk);
    await goto(page, "/roles");
    const form = page.getByRole("form", { name: "New role" });
    await form.getByLabel("Name").fill(ROLE);
    await form.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("heading", { name: `Role ${ROLE}` }).waitFor();
    const roleId = new URL(page.url()).pathname.split("/").pop() as string;
    cleanup.push(["DELETE", `/v1/roles/${roleId}?force=true`]);

    await page.getByLabel("Add a composite").fill(COMPOSITE);
    await page.getByRole("button", { name: `Add ${COMPOSITE}` }).click();
    await page.getByTestId("composites").getByRole("link", { name: COMPOSITE }).waitFor();
    await page.reload();
    await page.getByTestId("composites").getByRole("link", { name: COMPOSITE }).waitFor();
    const role = await h.asAdmin<{ composites: string[] }>("GET", `/v1/roles/${roleId}`);
    expect(role.composites).toHaveLength(1);

    // and removed again
    await page.getByRole("button", { name: "Remove composite" }).click();
    await page.getByTestId("composites").getByText("No composites.").waitFor();
    expect((await h.asAdmin<{ composites: string[] }>("GET", `/v1/roles/${roleId}`)).composites).toEqual([]);

    const bind = page.getByRole("form", { name: "Bind this role" });
    await bind.getByLabel("Username").fill(`nobody-${sfx}`);
    await bind.getByRole("button", { name: "Bind role" }).click();
    await page.getByRole("alert").getByText(`no user is named “nobody-${sfx}”`).waitFor();
    await bind.getByLabel("Username").fill(ZONE_ADMIN);
    await bind.getByRole("button", { name: "Bind role" }).click();
    await page.getByRole("table", { name: "bindings" }).getByRole("link", { name: ZONE_ADMIN }).waitFor();
    await h.expectAccessible(page, "role");
    await page.context().close();
  });

  it("an administrator defines a tag type and tags a resource with it", { timeout: 180_000 }, async () => {
    const page = await h.signedIn(h.psk);
    await goto(page, "/tags");
    const form = page.getByRole("form", { name: "New tag type" });
    await form.getByLabel("Tag type").fill(`bad/${sfx}`);
    await form.getByRole("button", { name: "Create tag type" }).click();
    await form.locator(".mantine-InputWrapper-error").waitFor(); // the name's rule, under the name
    await form.getByLabel("Tag type").fill(TAG);
    await form.getByRole("textbox", { name: "Attributes" }).fill("level:string");
    await form.getByRole("textbox", { name: "Attributes" }).press("Enter");
    await form.getByRole("button", { name: "Create tag type" }).click();
    await form.getByRole("status").getByText(`Tag type ${TAG} created.`).waitFor();
    cleanup.push(["DELETE", `/v1/tag-defs/${TAG}`]);
    expect(await h.asAdmin("GET", `/v1/tag-defs/${TAG}`)).toMatchObject({
      name: TAG,
      attributeDefs: [{ name: "level", type: "string" }],
    });

    const tag = page.getByRole("form", { name: "Tag a resource" });
    await tag.getByLabel("Resource").fill(`catalog=t${sfx},schema=eu,table=orders`);
    await tag.getByLabel("Tag type").fill(TAG);
    await tag.getByRole("textbox", { name: "Attributes" }).fill("level=high");
    await tag.getByRole("textbox", { name: "Attributes" }).press("Enter");
    await tag.getByRole("button", { name: "Tag resource" }).click();
    await page.getByLabel("Filter by tag type").fill(TAG); // the list's filter, kept in the URL
    await page.getByText("1 tagged resources").waitFor();
    const resources = page.getByRole("table", { name: "tagged resources" });
    const cell = resources.getByRole("cell", { name: new RegExp(`catalog=t${sfx}`) });
    for (const part of ["schema=eu", "table=orders"]) expect(await cell.innerText()).toContain(part);
    await resources.getByText(`${TAG} (level=high)`).waitFor();
    // the filter reaches the URL after its debounce, which can end after the list already shows the
    // one resource (the unfiltered list may hold only this one)
    await expect.poll(() => new URL(page.url()).searchParams.get("tag")).toBe(TAG);
    const listed = await h.asAdmin<{ items: { id: number }[] }>(
      "GET",
      `/v1/services/trino/tagged-resources?tag=${TAG}`,
    );
    cleanup.push(["DELETE", `/v1/services/trino/tagged-resources/${listed.items[0].id}`]);
    await h.expectAccessible(page, "tags");
    await page.context().close();
  });

  it("the overview shows connectors' delivery state and LDAP syncs' schedules, with links", {
    timeout: 180_000,
  }, async () => {
    const connector = await h.asAdmin<{ id: string }>("POST", "/v1/connectors", {
      name: `kc-${sfx}`,
      kind: "keycloak",
      config: {
        baseUrl: "http://127.0.0.1:9",
        realm: "gatehouse",
        clientId: "gatehouse",
        selection: { mode: "prefix", prefix: `none-${sfx}` },
      },
      clientSecret: "not-a-secret",
    });
    cleanup.push(["DELETE", `/v1/connectors/${connector.id}`]);
    // an organisation of its own, so the overview's first ten sources are this test's on a shared database
    const org = await h.asAdmin<{ id: string }>("POST", "/v1/orgs", { name: `org-ref-${sfx}` });
    const source = await h.asAdmin<{ id: string }>("POST", "/v1/identity-sources", {
      orgId: org.id,
      name: `ldap-${sfx}`,
      kind: "ldap",
      config: { url: "ldap://127.0.0.1:9", baseDn: "dc=example,dc=org", timeoutMs: 2000, syncSchedule: "6h" },
    });
    cleanup.push(["DELETE", `/v1/identity-sources/${source.id}`]);

    const page = await h.signedIn(h.psk);
    await goto(page, `/?org=${org.id}`);
    const connectors = page.getByRole("table", { name: "connectors" });
    const row = connectors.getByRole("row", { name: new RegExp(`kc-${sfx}`) });
    await row.getByText(/pending · \d+ failing · \d+ dead-lettered/).waitFor();
    expect(await row.getByRole("cell").nth(1).innerText()).toBe("keycloak");
    const syncs = page.getByRole("table", { name: "LDAP syncs" });
    const syncRow = syncs.getByRole("row", { name: new RegExp(`ldap-${sfx}`) });
    await syncRow.getByRole("cell", { name: "6h" }).waitFor();
    await h.expectAccessible(page, "overview with connectors and syncs");

    await row.getByRole("link", { name: `kc-${sfx}` }).click();
    await page.getByRole("heading", { name: "Audit" }).waitFor();
    expect(new URL(page.url()).searchParams.get("targetId")).toBe(connector.id);
    await page.getByRole("table", { name: "admin events" }).getByText("connector.created").waitFor();
    await page.goBack();
    await syncRow.getByRole("link", { name: `ldap-${sfx}` }).click();
    await page.waitForURL((u) => u.pathname.endsWith(source.id));
    await page.context().close();
  });

  it("an administrator creates, configures and deletes a service, and edits a service-def as JSON", {
    timeout: 180_000,
  }, async () => {
    const defName = `def${sfx}`;
    const def = {
      name: defName,
      resources: [{ name: "bucket", level: 10, mandatory: true }],
      accessTypes: [{ name: "read" }],
    };
    await h.asAdmin("POST", "/v1/service-defs", def);
    cleanup.push(["DELETE", `/v1/service-defs/${defName}`]);
    const page = await h.signedIn(h.psk);

    // a service-def's JSON: the server's validation names the field; fixed, it is saved
    await goto(page, `/service-defs/${defName}`);
    const json = page.getByLabel("Service-def JSON");
    await json.fill(
      JSON.stringify({ ...def, accessTypes: [{ name: "read" }, { name: "all", impliedGrants: ["nope"] }] }),
    );
    await page.getByRole("button", { name: "Save service-def" }).click();
    await page
      .getByTestId("field-errors")
      .getByText("body.accessTypes[1].impliedGrants", { exact: false })
      .first()
      .waitFor();
    await json.fill(
      JSON.stringify({ ...def, accessTypes: [{ name: "read" }, { name: "all", impliedGrants: ["read"] }] }),
    );
    await page.getByRole("button", { name: "Save service-def" }).click();
    await page.getByRole("status").getByText("Saved.").waitFor();
    const stored = await h.asAdmin<{ accessTypes: { name: string }[] }>("GET", `/v1/service-defs/${defName}`);
    expect(stored.accessTypes.map((a) => a.name)).toEqual(["read", "all"]);
    await h.expectAccessible(page, "service-def");

    // a service of that def: created, its configs saved, then deleted
    const service = `svc-${sfx}`;
    await goto(page, "/services");
    const form = page.getByRole("form", { name: "New service" });
    await form.getByLabel("Name").fill(service);
    await form.getByLabel("Type (service-def)").selectOption(defName);
    await form.getByRole("button", { name: "Create service" }).click();
    await page.getByRole("heading", { name: `Service ${service}` }).waitFor();
    cleanup.push(["DELETE", `/v1/services/${service}`]);
    await page.getByLabel("Configs").fill("ranger.plugin.super.users=admin");
    await page.getByRole("button", { name: "Save service" }).click();
    await expect
      .poll(
        async () => (await h.asAdmin<{ configs: Record<string, string> }>("GET", `/v1/services/${service}`)).configs,
      )
      .toEqual({ "ranger.plugin.super.users": "admin" });
    await h.expectAccessible(page, "service");
    await page.getByRole("button", { name: "Delete service" }).click();
    await page.getByRole("button", { name: "Confirm: Delete service" }).click();
    await page.getByRole("heading", { name: "Services" }).waitFor();
    const services = await h.asAdmin<{ items: { name: string }[] }>("GET", "/v1/services");
    expect(services.items.map((s) => s.name)).not.toContain(service);
    await page.context().close();
  });

  it("a zone administrator without a built-in role finds its zone first and edits only its lists", {
    timeout: 180_000,
  }, async () => {
    const page = await h.signedIn(zoneAdminKey);
    const mine = page.getByTestId("my-zones");
    await mine.getByText("You administer").waitFor();
    await h.expectAccessible(page, "a zone administrator's overview");
    // nothing the actor may not read is asked for: no error on its overview
    expect(await page.getByRole("alert").filter({ hasText: "Request failed" }).count()).toBe(0);
    await mine.getByRole("link", { name: ZONE }).click();
    await page.getByRole("heading", { name: `Zone ${ZONE}` }).waitFor();
    const form = page.getByRole("form", { name: `Zone ${ZONE}` });
    expect(await form.getByLabel("Name").isDisabled()).toBe(true);
    expect(await form.getByLabel("Resources of service 1").isDisabled()).toBe(true);
    await form.getByRole("textbox", { name: "Audit users" }).fill(`aud-${sfx}`);
    await form.getByRole("textbox", { name: "Audit users" }).press("Enter");
    await form.getByRole("button", { name: "Save zone" }).click();
    await expect
      .poll(async () => (await h.asAdmin<{ auditUsers: string[] }>("GET", `/v1/zones/${ZONE}`)).auditUsers)
      .toEqual([`aud-${sfx}`]);
    expect(await page.getByRole("button", { name: "Delete zone" }).count()).toBe(0);
    await h.expectAccessible(page, "a zone administrator's zone");
    await page.context().close();
  });
});
