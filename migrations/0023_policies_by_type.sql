-- The policy list's every page (the console's Access, Masking and Row filter tabs, `policyType`)
-- reads a page in id order and counts the service's policies of that type. Without this index both
-- read the whole table: the count was a sequential scan of all 100,000 policies (130 MB) on every
-- page change, 220-560 ms on the loaded bench:console machine, and a page of a rare type walked the
-- primary key past every policy of the other types. With it the count is an index-only scan
-- (20-50 ms on the same loaded machine) and the page an index range read. Forward-only.

create index policies_service_type_id on policies (service_id, policy_type, id);
