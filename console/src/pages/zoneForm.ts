/** A security zone as `/v1/zones` answers it. */
export interface Zone {
  id: number;
  name: string;
  description: string;
  services: Record<string, { resources: Record<string, string[]>[] }>;
  tagServices: string[];
  adminUsers: string[];
  adminUserGroups: string[];
  adminRoles: string[];
  auditUsers: string[];
  auditUserGroups: string[];
  auditRoles: string[];
}

/** One service of the zone form: its name and its resources, one line per resource map. */
export interface ServiceDraft {
  service: string;
  resources: string;
}

/**
 * A resource map as one line of text, as role-binding selectors are written: `catalog=sales,schema=eu*`,
 * several values of one level joined by `|` (`schema=eu|us`).
 */
export function resourceLine(resource: Record<string, string[]>): string {
  return Object.entries(resource)
    .map(([k, values]) => `${k}=${values.join("|")}`)
    .join(",");
}

/** Parses the lines of a service's resources; a part without `=` is kept as a level with no value, so the server names it. */
export function parseResources(text: string): Record<string, string[]>[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) =>
      Object.fromEntries(
        line.split(",").map((part) => {
          const i = part.indexOf("=");
          if (i < 0) return [part.trim(), []];
          return [
            part.slice(0, i).trim(),
            part
              .slice(i + 1)
              .split("|")
              .map((v) => v.trim()),
          ];
        }),
      ),
    );
}

/** The zone's services as form rows. */
export function serviceDrafts(zone: Zone | undefined): ServiceDraft[] {
  if (!zone) return [];
  return Object.entries(zone.services).map(([service, v]) => ({
    service,
    resources: v.resources.map(resourceLine).join("\n"),
  }));
}
