-- User search (`q`: a substring of the username, display name or email, case-insensitive) through
-- a trigram index. Without it every search read the whole organisation: 2.2 s p95 at 1,000,000
-- users through the API (npm run bench:console, docs/console.md). One GIN index over the three
-- fields joined by U+001F (a control character names, emails and display names cannot hold, so a
-- match never spans two fields) costs one index write per user, not three. pg_trgm ships with
-- PostgreSQL's contrib modules and is a trusted extension (a user with CREATE on the database may
-- create it); the embedded database loads PGlite's build of it. Forward-only.

create extension if not exists pg_trgm;

create index users_search_trgm on users using gin (
  lower(username || chr(31) || coalesce(display_name, '') || chr(31) || coalesce(email, '')) gin_trgm_ops
);
