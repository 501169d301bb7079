import { describe, expect, it } from "vitest";
import { credentialIdentity } from "./credential-identity.ts";
import { FailureLimiter } from "./failure-limiter.ts";

describe("FailureLimiter", () => {
  const make = () => {
    let now = 0;
    const limiter = new FailureLimiter({ limit: 3, windowSeconds: 60, now: () => now });
    return { limiter, advance: (ms: number) => (now += ms) };
  };

  it("refuses only when the address is locked out and the identity is under attack", () => {
    const { limiter } = make();
    for (let i = 0; i < 3; i++) limiter.fail("10.0.0.1", "psk");
    expect(limiter.retryAfter("10.0.0.1")).toBe(60);
    expect(limiter.refusal("10.0.0.1", "psk")).toBe(60);
    // the identity under attack, from an address that is not locked out: verified
    expect(limiter.refusal("10.0.0.2", "psk")).toBe(0);
    // another credential from the locked-out address: verified
    expect(limiter.refusal("10.0.0.1", "key:abc")).toBe(0);
  });

  it("an identity attacked from many addresses stays usable from an address without failures", () => {
    const { limiter } = make();
    for (let i = 0; i < 6; i++) limiter.fail(`10.1.0.${i}`, "basic:etl");
    expect(limiter.identityRetryAfter("basic:etl")).toBeGreaterThan(0);
    expect(limiter.refusal("10.1.0.200", "basic:etl")).toBe(0);
  });

  it("forgets failures when the window ends, and waits out the earlier of the two windows", () => {
    const { limiter, advance } = make();
    for (let i = 0; i < 3; i++) limiter.fail("10.0.0.1", "psk");
    advance(30_000);
    for (let i = 0; i < 3; i++) limiter.fail("10.0.0.9", "key:k1");
    for (let i = 0; i < 3; i++) limiter.fail("10.0.0.1", "key:k1");
    expect(limiter.refusal("10.0.0.1", "key:k1")).toBe(30);
    advance(30_000);
    expect(limiter.retryAfter("10.0.0.1")).toBe(0);
    expect(limiter.refusal("10.0.0.1", "psk")).toBe(0);
  });

  it("keeps at most maxEntries windows of each kind", () => {
    const limiter = new FailureLimiter({ limit: 1, windowSeconds: 60, maxEntries: 2 });
    limiter.fail("a", "x");
    limiter.fail("b", "y");
    limiter.fail("c", "z");
    expect(limiter.retryAfter("a")).toBe(0);
    expect(limiter.identityRetryAfter("x")).toBe(0);
    expect(limiter.retryAfter("c")).toBeGreaterThan(0);
  });
});

describe("credentialIdentity", () => {
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
  it.each([
    [{ "authorization-psk": "anything-at-all" }, "psk"],
    [{ "authorization-psk": "ghk_ab12cd_secretsecret" }, "key:ab12cd"],
    [{ "x-authentication": "ghk_ab12cd_other" }, "key:ab12cd"],
    [{ authorization: "Bearer ghk_ff00_x" }, "key:ff00"],
    [{ authorization: `Basic ${Buffer.from("etl-client:pw").toString("base64")}` }, "basic:etl-client"],
    [{ authorization: `Bearer ${jwt({ iss: "https://idp", sub: "alice" })}` }, "token:https://idp alice"],
    [{ authorization: "Bearer not-a-jwt" }, "token:malformed"],
    [{ authorization: "OpsToken some-psk" }, "psk"],
    [{ authorization: "Negotiate YII=" }, "negotiate"],
    [{}, null],
  ])("%o is %s", (headers, identity) => {
    expect(credentialIdentity(headers)).toBe(identity);
  });

  it("bounds what the client chose", () => {
    const long = `Basic ${Buffer.from(`${"u".repeat(5000)}:pw`).toString("base64")}`;
    expect(credentialIdentity({ authorization: long })?.length).toBe(200);
  });
});
