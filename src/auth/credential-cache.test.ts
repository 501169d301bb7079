import { describe, expect, it } from "vitest";
import { type Actor, ANONYMOUS } from "./actor.ts";
import { CredentialCache } from "./credential-cache.ts";

const alice: Actor = { ...ANONYMOUS, type: "user", id: "u1", name: "alice" };

describe("CredentialCache", () => {
  it("keeps a verified actor for its lifetime only", () => {
    let now = 1_000;
    const cache = new CredentialCache({ ttlMs: 100, now: () => now });
    cache.set("k:a", alice);
    now += 99;
    expect(cache.get("k:a")).toBe(alice);
    now += 1;
    expect(cache.get("k:a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("never keeps a credential past its own expiry", () => {
    let now = 1_000;
    const cache = new CredentialCache({ ttlMs: 5_000, now: () => now });
    cache.set("t:a", alice, 1_050);
    now = 1_049;
    expect(cache.get("t:a")).toBe(alice);
    now = 1_050;
    expect(cache.get("t:a")).toBeUndefined();
    cache.set("t:b", alice, 1_000);
    expect(cache.size).toBe(0);
  });

  it("forgets everything on clear, and stays bounded", () => {
    const cache = new CredentialCache({ ttlMs: 5_000, maxEntries: 2 });
    cache.set("k:a", alice);
    cache.set("k:b", alice);
    cache.set("k:c", alice);
    expect(cache.size).toBeLessThanOrEqual(2);
    expect(cache.get("k:c")).toBe(alice);
    cache.clear();
    expect(cache.get("k:c")).toBeUndefined();
  });

  it("caches nothing when the lifetime is zero", () => {
    const cache = new CredentialCache({ ttlMs: 0 });
    cache.set("k:a", alice);
    expect(cache.get("k:a")).toBeUndefined();
  });
});
