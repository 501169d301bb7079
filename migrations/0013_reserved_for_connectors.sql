-- Placeholder so this branch's 0014 applies: number 0013 belongs to another branch (connectors);
-- drop this file when that branch's 0013 is merged.
select 1;
