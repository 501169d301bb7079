import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { ConfigError, loadConfig } from "../../config/load.ts";
import { parseNetworks } from "../../config/networks.ts";
import { seedService } from "../../decisions/test-seed.ts";

describe("parseNetworks", () => {
  it("reads addresses and CIDR blocks of both families, and nothing from an empty setting", () => {
    const { networks, problems } = parseNetworks(" 10.0.0.0/8, 192.168.1.7 ,::1, fd00::/8 ");
    expect(problems).toEqual([]);
    expect(networks?.check("10.200.3.4", "ipv4")).toBe(true);
    expect(networks?.check("192.168.1.7", "ipv4")).toBe(true);
    expect(networks?.check("192.168.1.8", "ipv4")).toBe(false);
    expect(networks?.check("::ffff:10.1.1.1", "ipv6")).toBe(true);
    expect(networks?.check("fd12::1", "ipv6")).toBe(true);
    expect(networks?.check("fe80::1", "ipv6")).toBe(false);
    expect(parseNetworks(" , ")).toEqual({ networks: null, problems: [] });
  });

  it("names every malformed entry and the rule it breaks", () => {
    const { networks, problems } = parseNetworks("10.0.0.0/33,host.example,10.0.0.0/x,::1/129,1.2.3.4/8/9");
    expect(networks).toBeNull();
    expect(problems).toEqual([
      '"10.0.0.0/33": the prefix length must be a whole number from 0 to 32',
      '"host.example": must be an IPv4 or IPv6 address, optionally with /prefix',
      '"10.0.0.0/x": the prefix length must be a whole number from 0 to 32',
      '"::1/129": the prefix length must be a whole number from 0 to 128',
      '"1.2.3.4/8/9": the prefix length must be a whole number from 0 to 32',
    ]);
  });

  it("is a configuration error naming the variable", () => {
    const load = () => loadConfig({ env: { GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS: "10.0.0.0/8,nope" } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS: "nope": must be an IPv4 or IPv6 address/);
  });
});

describe("Ranger plugin downloads without credentials", () => {
  let open: TestApp;
  let closed: TestApp;
  let service: string;

  beforeAll(async () => {
    open = await testApp({ GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS: "10.0.0.0/8, ::1" });
    closed = await testApp();
    service = (await seedService(open)).service;
  });
  afterAll(async () => {
    await open.app.close();
    await closed.app.close();
  });

  const get = (app: TestApp, url: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    app.app.inject({ method: "GET", url, remoteAddress, headers });

  it("serves the non-secure policy, role and tag downloads to listed networks, as Ranger serves its plugins", async () => {
    const policies = await get(
      open,
      `/service/plugins/policies/download/${service}?pluginId=trino@host-1&clusterName=c1`,
      "10.20.30.40",
    );
    expect(policies.statusCode).toBe(200);
    expect(policies.json().serviceName).toBe(service);
    expect(policies.json().policies).toHaveLength(1);
    const version = policies.json().policyVersion;
    expect(
      (await get(open, `/service/plugins/policies/download/${service}?lastKnownVersion=${version}`, "10.20.30.40"))
        .statusCode,
    ).toBe(304);
    expect((await get(open, `/service/roles/download/${service}`, "::1")).statusCode).toBe(200);
    expect((await get(open, `/service/tags/download/${service}`, "::ffff:10.0.0.9")).statusCode).toBe(200);

    // the download is recorded with the plugin's address, as any other
    const plugins = await open.request({ method: "GET", url: `/v1/services/${service}/plugins` });
    expect(plugins.statusCode).toBe(200);
    expect(JSON.stringify(plugins.json())).toContain("trino@host-1");
    expect(JSON.stringify(plugins.json())).toContain("10.20.30.40");
  });

  it("still requires credentials from other networks, on the /secure/ twins and everywhere else", async () => {
    for (const [app, url, ip] of [
      [open, `/service/plugins/policies/download/${service}`, "192.168.1.1"],
      [open, `/service/plugins/secure/policies/download/${service}`, "10.20.30.40"],
      [open, `/service/roles/secure/download/${service}`, "10.20.30.40"],
      [open, `/v1/services/${service}/policies`, "10.20.30.40"],
      [closed, `/service/plugins/policies/download/${service}`, "10.20.30.40"],
    ] as const) {
      const res = await get(app, url, ip);
      expect({ url, ip, status: res.statusCode }).toEqual({ url, ip, status: 401 });
    }
  });

  it("authenticates a presented credential as usual: a wrong one is refused, never downgraded", async () => {
    const wrong = await get(open, `/service/plugins/policies/download/${service}`, "10.20.30.40", {
      "authorization-psk": "not-the-key-0123456789",
    });
    expect(wrong.statusCode).toBe(401);
  });

  it("admits a listed network to reads only", async () => {
    const grant = await open.app.inject({
      method: "POST",
      url: `/service/plugins/services/grant/${service}`,
      remoteAddress: "10.20.30.40",
      payload: { grantor: "admin", users: ["bob"], resource: { catalog: "sales" }, accessTypes: ["select"] },
    });
    expect(grant.statusCode).toBe(401);
  });
});
