#!/usr/bin/env bash
# The storage tests run on PostgreSQL as well as SQLite: make sure its server binaries exist.
# (The test fixture creates and starts a throw-away cluster itself.)
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
else
  echo "PostgreSQL server binaries are missing (apt-get install postgresql); PostgreSQL tests will fail" >&2
  exit 1
fi
