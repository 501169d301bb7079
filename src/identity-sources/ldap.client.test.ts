import { describe, expect, it } from "vitest";
import { readAllValues } from "./ldap.client.ts";

describe("Active Directory range retrieval", () => {
  it("follows member;range=a-b until the range ends in *", async () => {
    const all = Array.from({ length: 3200 }, (_, i) => `cn=u${i},dc=ad`);
    const requests: string[] = [];
    const fetch = async (attribute: string) => {
      requests.push(attribute);
      const start = attribute === "member" ? 0 : Number(/range=(\d+)-/.exec(attribute)?.[1]);
      const end = Math.min(start + 1499, all.length - 1);
      const last = end === all.length - 1;
      return { dn: "cn=g,dc=ad", [`member;range=${start}-${last ? "*" : end}`]: all.slice(start, end + 1) };
    };
    expect(await readAllValues(fetch, "member")).toEqual(all);
    expect(requests).toEqual(["member", "member;range=1500-*", "member;range=3000-*"]);
  });

  it("reads a plain attribute at once and an absent one as empty", async () => {
    expect(await readAllValues(async () => ({ dn: "x", member: ["a", "b"] }), "member")).toEqual(["a", "b"]);
    expect(await readAllValues(async () => ({ dn: "x" }), "member")).toEqual([]);
  });
});
