import { describe, expect, it } from "vitest";
import { jsonArrayItems } from "./bulk-input.ts";

async function collect(chunks: string[]): Promise<unknown[]> {
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  const out: unknown[] = [];
  for await (const item of jsonArrayItems(source())) out.push(item);
  return out;
}

describe("jsonArrayItems", () => {
  const rows = [
    { name: 'a "quoted" [bracket] {brace}', schemas: ["s1", "s2"], nested: { x: [1, { y: "}" }] } },
    { name: "ünïcödé ✓", users: "a,b", escaped: 'back\\slash\\"' },
    {},
  ];
  const text = ` \n${JSON.stringify(rows, null, 1)}\n `;

  it("yields every row whatever the chunk boundaries (including inside multi-byte characters)", async () => {
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut += 3) {
      async function* source() {
        yield bytes.subarray(0, cut);
        yield bytes.subarray(cut);
      }
      const out: unknown[] = [];
      for await (const item of jsonArrayItems(source())) out.push(item);
      expect(out).toEqual(rows);
    }
  });

  it("accepts an empty array", async () => {
    expect(await collect(["[", " ]"])).toEqual([]);
  });

  it.each([
    ["{}", "does not start with `[`"],
    ["[1, 2]", "rows must be objects"],
    ['["a"]', "rows must be objects"],
    ["[{}", "ends before the closing"],
    ["[{}] x", "after the closing"],
    ["", "empty"],
    ["[{bad}]", "not a JSON array"],
  ])("rejects %j", async (input, message) => {
    await expect(collect([input])).rejects.toThrow(message);
  });
});
