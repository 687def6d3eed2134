#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL server for the test suite, on 127.0.0.1 only.
#   scripts/pg-test-server.sh start   -> prints the URL to use as MESHPLANE_TEST_POSTGRES_URL
#   scripts/pg-test-server.sh stop
# The server lives in $PGTEST_DIR (default .pgtest/) and is owned by an unprivileged user when run
# as root (PostgreSQL refuses to run as root).
set -euo pipefail
cmd=${1:-start}
dir=${PGTEST_DIR:-$(pwd)/.pgtest}
port=${PGTEST_PORT:-55432}
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/initdb" ] && bindir=$candidate
  done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries not found (install Debian's postgresql package)" >&2
  exit 3
fi
run_as=()
owner=$(id -un)
if [ "$(id -u)" = "0" ]; then
  id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  owner=postgres
  run_as=(runuser -u postgres --)
fi
case "$cmd" in
  start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$owner" = "postgres" ] && chown -R postgres "$dir"
      "${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U meshplane --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
    fi
    if ! "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start >/dev/null
    fi
    echo "postgresql+psycopg://meshplane@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
