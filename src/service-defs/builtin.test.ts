import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RangerResourceDef, RangerServiceDef } from "../engine/types.ts";
import { BUILTIN_SERVICE_DEFS } from "./builtin.ts";
import { validateServiceDef } from "./service-def-validate.ts";

const SHARED = new URL("../../../shared/conformance/ranger/", import.meta.url);

function ranger(name: string): RangerServiceDef {
  return JSON.parse(readFileSync(new URL(`ranger-servicedef-${name}.json`, SHARED), "utf8")) as RangerServiceDef;
}

/** The facts policies depend on; labels, descriptions and configs may differ. */
function resourceFacts(r: RangerResourceDef) {
  return {
    name: r.name,
    level: r.level,
    parent: r.parent ?? "",
    mandatory: r.mandatory === true,
    excludesSupported: r.excludesSupported === true,
    recursiveSupported: r.recursiveSupported === true,
    isValidLeaf: r.isValidLeaf === true,
    matcher: r.matcher,
    wildCard: String(r.matcherOptions?.wildCard ?? "true"),
    ignoreCase: String(r.matcherOptions?.ignoreCase ?? "true"),
    accessTypeRestrictions: [...(r.accessTypeRestrictions ?? [])].sort(),
  };
}

function facts(def: RangerServiceDef) {
  return {
    id: def.id,
    name: def.name,
    resources: (def.resources ?? []).map(resourceFacts),
    accessTypes: (def.accessTypes ?? []).map((a) => ({
      name: a.name,
      category: a.category ?? null,
      impliedGrants: [...(a.impliedGrants ?? [])].sort(),
    })),
    maskTypes: (def.dataMaskDef?.maskTypes ?? []).map((m) => ({ name: m.name, transformer: m.transformer ?? null })),
    maskAccessTypes: (def.dataMaskDef?.accessTypes ?? []).map((a) => a.name),
    maskResources: (def.dataMaskDef?.resources ?? []).map((r) => [r.name, String(r.matcherOptions?.wildCard)]),
    rowFilterAccessTypes: (def.rowFilterDef?.accessTypes ?? []).map((a) => a.name),
    rowFilterResources: (def.rowFilterDef?.resources ?? []).map((r) => [
      r.name,
      String(r.matcherOptions?.wildCard),
      r.mandatory === true,
    ]),
  };
}

describe("built-in service-defs", () => {
  it.each(["trino", "hive", "hdfs"])("%s matches Ranger's own definition", (name) => {
    const ours = BUILTIN_SERVICE_DEFS.find((d) => d.name === name) as RangerServiceDef;
    expect(facts(ours)).toEqual(facts(ranger(name)));
  });

  it.each(["trino", "hive", "hdfs", "tag"])("%s passes the custom service-def validation", (name) => {
    const ours = BUILTIN_SERVICE_DEFS.find((d) => d.name === name) as RangerServiceDef;
    expect(validateServiceDef(ours)).toEqual([]);
  });
});
