import { PolicyEngine } from "../engine.ts";
import type { RangerServiceDef, ServiceTags } from "../types.ts";
import { check, type FileReport } from "./report.ts";

/**
 * Ranger's tag-enricher format (`TestTagEnricher`): a service-def, `ServiceTags` parts at top level
 * (`tagDefinitions`, `tags`, `serviceResources`, `resourceToTagIds`) and `tests[{name, resource,
 * accessType, result[{type}]}]`. Each test enriches a request by user `testUser` and compares the
 * sorted tag types of the request's tag set with the sorted expected types.
 */
type Json = Record<string, unknown>;

export function isTagEnricherFile(d: Json): boolean {
  return Array.isArray(d.serviceResources) && Array.isArray(d.tests) && d.serviceDef !== undefined;
}

export function runTagEnricherFile(file: Json, report: FileReport): void {
  const serviceTags: ServiceTags = {
    serviceName: file.serviceName as string,
    tagDefinitions: file.tagDefinitions as ServiceTags["tagDefinitions"],
    tags: file.tags as ServiceTags["tags"],
    serviceResources: file.serviceResources as ServiceTags["serviceResources"],
    resourceToTagIds: file.resourceToTagIds as ServiceTags["resourceToTagIds"],
  };
  const engine = new PolicyEngine({ serviceDef: file.serviceDef as RangerServiceDef, policies: [], serviceTags });
  for (const t of (file.tests as Json[]) ?? []) {
    const resource = (t.resource as Json) ?? {};
    const state = engine.preProcess({
      resource: { elements: (resource.elements as Record<string, string>) ?? {} },
      accessType: (t.accessType as string) ?? "",
      user: "testUser",
      context: { "token:USER": "testUser" },
    });
    const expected = ((t.result as Json[] | null) ?? []).map((x) => String(x.type)).sort();
    const got = (state.tags ?? []).map((x) => x.type).sort();
    check(report, String(t.name ?? ""), expected, got);
  }
}
