#!/usr/bin/env bash
# The whole test suite, as README and CI run it (`npm test`):
#   1. type-check, lint and format check (`npm run check`);
#   2. the suite on the embedded database (PGlite);
#   3. the suite again on a real PostgreSQL 15 that this script starts itself (initdb + pg_ctl in a
#      temp folder on a free port, stopped afterwards), unless GATEHOUSE_TEST_DATABASE_URL names one.
# System packages the tests need (PostgreSQL server binaries, OpenLDAP slapd, Chromium, an MIT Kerberos KDC
# the Kerberos headers, python3-requests for Ranger's Python client) are installed with apt-get when absent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_apt+=(postgresql)
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need_apt+=(slapd ldap-utils)
# a real MIT Kerberos KDC for the SPNEGO tests, and the headers the optional `kerberos` addon builds with
[ -x /usr/sbin/krb5kdc ] && [ -x /usr/sbin/kadmin.local ] || need_apt+=(krb5-kdc krb5-admin-server)
[ -x /usr/bin/kinit ] || need_apt+=(krb5-user)
[ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
# Apache Ranger's own Python client (../shared/clients) runs in the suite; it needs `requests`
python3 -c 'import requests' >/dev/null 2>&1 || /usr/bin/python3 -c 'import requests' >/dev/null 2>&1 \
  || need_apt+=(python3 python3-requests)
# the admin console's end-to-end tests drive Debian's Chromium with playwright-core
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# `kerberos` is an optional dependency: `npm ci` skips it when the Kerberos headers were missing,
# so build it now that they are installed
if ! node -e 'require("kerberos")' >/dev/null 2>&1; then
  echo "building the optional kerberos addon"
  npm install --no-save --no-audit --no-fund kerberos@"$(node -p 'require("./package.json").optionalDependencies.kerberos')" >/dev/null
fi

npm run check

echo "== test suite on the embedded database (PGlite) =="
env -u GATEHOUSE_TEST_DATABASE_URL npx vitest run "$@"

if [ -n "${GATEHOUSE_TEST_DATABASE_URL:-}" ]; then
  echo "== test suite on PostgreSQL at GATEHOUSE_TEST_DATABASE_URL =="
  npx vitest run "$@"
  exit 0
fi

echo "== test suite on a throwaway PostgreSQL =="
tmp=$(mktemp -d /tmp/gatehouse-pg.XXXXXX)
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_pg=()
if [ "$(id -u)" = "0" ]; then
  chown postgres "$tmp"
  as_pg=(runuser -u postgres --)
fi
stop_pg() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap stop_pg EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$tmp/data" -U gatehouse --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U gatehouse gatehouse_test
GATEHOUSE_TEST_DATABASE_URL="postgres://gatehouse@127.0.0.1:$port/gatehouse_test" npx vitest run "$@"
