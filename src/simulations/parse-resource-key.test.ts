import { describe, expect, it } from "vitest";
import { parseResourceKey } from "./simulations.service.ts";

const NAMES = ["catalog", "schema", "table", "column"];

describe("parsing the decision log's resource key", () => {
  it("splits at a slash only where a resource name of the def and `=` follow", () => {
    expect(parseResourceKey("catalog=c/schema=s/table=t", NAMES)).toEqual({ catalog: "c", schema: "s", table: "t" });
    // a value holding `/`, or `/x=` with a name the def does not have, stays in the value
    expect(parseResourceKey("catalog=a/b=c/schema=s/x", NAMES)).toEqual({ catalog: "a/b=c", schema: "s/x" });
    expect(parseResourceKey("catalog=a//schema=b", NAMES)).toEqual({ catalog: "a/", schema: "b" });
    expect(parseResourceKey("catalog=/schema=s", NAMES)).toEqual({ catalog: "", schema: "s" });
  });

  it("gives several values for `|`, the first part whatever its name, and nothing for what names no resource", () => {
    expect(parseResourceKey("catalog=a|b/schema=s", NAMES)).toEqual({ catalog: ["a", "b"], schema: "s" });
    expect(parseResourceKey("x=1/catalog=c", NAMES)).toEqual({ x: "1", catalog: "c" });
    expect(parseResourceKey("abc/def", NAMES)).toEqual({});
    expect(parseResourceKey("=x/catalog=c", NAMES)).toEqual({ catalog: "c" });
    expect(parseResourceKey("", NAMES)).toEqual({});
    expect(parseResourceKey("catalog=a/catalog=b", NAMES)).toEqual({ catalog: "b" });
  });
});
