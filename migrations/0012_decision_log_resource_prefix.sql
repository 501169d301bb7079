-- The decision log's resource index held the whole resource text, and a btree entry must fit in
-- about a third of a page (2,704 bytes): one audited decision on a long resource (values may be
-- 4,096 characters; a 3,800-character random one does not compress) failed the batched insert
-- and lost the audit rows of every other decision in its batch. The index now holds the first
-- 512 characters (at most 2,048 bytes in UTF-8); the prefix search of `/v1/decisions/log`
-- filters on this expression to use the index and on the full text for the exact answer.
-- Forward-only: never edit once released.

drop index decision_log_resource;
create index decision_log_resource_prefix on decision_log ((left(resource, 512)) text_pattern_ops);
