-- The values already used at a resource level of a service (`GET /v1/services/{service}/resource-values`,
-- the policy editor's suggestions), read as a skip scan: one index probe per distinct value, in
-- byte order, from the typed prefix on. Byte order (collation "C") makes every value that starts
-- with the prefix one contiguous run whatever the database's collation, so the scan stops at the
-- first value past it. Without this index each probe sorted every row of the level: 840 ms for 20
-- schema values at 100,000 policies, 1 to 6 ms with it (EXPLAIN ANALYZE on the bench:console
-- database, docs/console.md). One more index write per resource value of a policy. Forward-only.

create index policy_resources_values on policy_resources (service_id, resource_name, (value_lower collate "C"));
