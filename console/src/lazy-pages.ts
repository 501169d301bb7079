import { lazy } from "react";

/**
 * The console's pages other than the overview and the sign-in, each loaded on its first visit: a
 * page load parses the shell, Mantine and the page it shows, not every page's code (the whole
 * bundle was parsed again on every page load). `PageBoundary` shows a chunk that failed to load.
 */
export const AccessPage = lazy(() => import("./pages/Access.tsx").then((m) => ({ default: m.AccessPage })));
export const AuditPage = lazy(() => import("./pages/Audit.tsx").then((m) => ({ default: m.AuditPage })));
export const GroupsPage = lazy(() => import("./pages/Groups.tsx").then((m) => ({ default: m.GroupsPage })));
export const IdentitySourcesPage = lazy(() =>
  import("./pages/IdentitySources.tsx").then((m) => ({ default: m.IdentitySourcesPage })),
);
export const PoliciesPage = lazy(() => import("./pages/Policies.tsx").then((m) => ({ default: m.PoliciesPage })));
export const RolePage = lazy(() => import("./pages/Role.tsx").then((m) => ({ default: m.RolePage })));
export const RolesPage = lazy(() => import("./pages/Roles.tsx").then((m) => ({ default: m.RolesPage })));
export const ServicePage = lazy(() => import("./pages/Service.tsx").then((m) => ({ default: m.ServicePage })));
export const ServiceDefPage = lazy(() =>
  import("./pages/ServiceDefs.tsx").then((m) => ({ default: m.ServiceDefPage })),
);
export const ServiceDefsPage = lazy(() =>
  import("./pages/ServiceDefs.tsx").then((m) => ({ default: m.ServiceDefsPage })),
);
export const ServicesPage = lazy(() => import("./pages/Services.tsx").then((m) => ({ default: m.ServicesPage })));
export const TagsPage = lazy(() => import("./pages/Tags.tsx").then((m) => ({ default: m.TagsPage })));
export const UsersPage = lazy(() => import("./pages/Users.tsx").then((m) => ({ default: m.UsersPage })));
export const ZonePage = lazy(() => import("./pages/Zone.tsx").then((m) => ({ default: m.ZonePage })));
export const ZonesPage = lazy(() => import("./pages/Zones.tsx").then((m) => ({ default: m.ZonesPage })));
