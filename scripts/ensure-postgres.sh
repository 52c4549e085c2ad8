#!/usr/bin/env bash
# Make sure the PostgreSQL server named by TEST_DATABASE_URL answers, starting a local cluster if it does not.
# Without TEST_DATABASE_URL nothing is needed: the PostgreSQL tests skip and say why.
set -u
url="${TEST_DATABASE_URL:-}"
[ -n "$url" ] || { echo "TEST_DATABASE_URL is not set: PostgreSQL tests will be skipped"; exit 0; }
host=$(printf '%s' "$url" | sed -E 's#^[a-z+]+://([^@/]*@)?([^:/?]+).*#\2#')
port=$(printf '%s' "$url" | sed -nE 's#^[a-z+]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p')
port=${port:-5432}
ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$host" -p "$port"; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
fi
for _ in $(seq 1 20); do ready && exit 0; sleep 0.5; done
echo "PostgreSQL at $host:$port does not answer; start it or unset TEST_DATABASE_URL" >&2
exit 1
