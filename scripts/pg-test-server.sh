#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL server for the test suite, on 127.0.0.1 only.
#   scripts/pg-test-server.sh start   -> prints the URL to use as MESHPLANE_TEST_POSTGRES_URL
#   scripts/pg-test-server.sh stop
# The server lives in $PGTEST_DIR (default .pgtest/) and is owned by an unprivileged user when run
# as root (PostgreSQL refuses to run as root). It listens on $PGTEST_PORT when set, else on a port
# that is free when it starts. A server already running in $PGTEST_DIR is reused (on its own port).
# When the server cannot start, the reason is the last line on stderr and the exit status says which:
#   3 server binaries missing   4 port taken   5 initdb failed   6 the server did not start
set -euo pipefail
cmd=${1:-start}
dir=${PGTEST_DIR:-$(pwd)/.pgtest}
fixed_port=${PGTEST_PORT:-}
bindir=${PG_BINDIR:-}

fail() { # fail STATUS MESSAGE [LOG]: the log's last lines, then the reason
  if [ -n "${3:-}" ] && [ -f "$3" ]; then
    echo "--- last lines of $3:" >&2
    tail -n 15 "$3" | sed 's/^/    /' >&2
  fi
  echo "$2" >&2
  exit "$1"
}

if [ -z "$bindir" ]; then
  for candidate in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do
    [ -x "$candidate/initdb" ] && bindir=$candidate
  done
  if [ -z "$bindir" ] && command -v pg_ctl >/dev/null 2>&1; then
    candidate=$(dirname "$(command -v pg_ctl)")
    [ -x "$candidate/initdb" ] && bindir=$candidate
  fi
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  fail 3 "PostgreSQL server binaries (initdb, pg_ctl) not found${PG_BINDIR:+ in PG_BINDIR=$PG_BINDIR}: install Debian's postgresql package (or set PG_BINDIR)"
fi
run_as=()
owner=$(id -un)
if [ "$(id -u)" = "0" ]; then
  id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  owner=postgres
  run_as=(runuser -u postgres --)
fi

port_in_use() { # a listener on 127.0.0.1:$1?
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() { # a port nobody listens on now: the kernel's choice, else a probe of a random range
  local port
  for python in python3 python; do
    if command -v "$python" >/dev/null 2>&1; then
      "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' &&
        return 0
    fi
  done
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" || { echo "$port"; return 0; }
  done
  return 1
}

running_port() { # the port of the server running in $dir (line 4 of postmaster.pid), if any
  if "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    sed -n 4p "$dir/data/postmaster.pid" 2>/dev/null
  fi
}

case "$cmd" in
  start)
    port=$(running_port || true)
    if [ -n "$port" ] && { [ -z "$fixed_port" ] || [ "$port" = "$fixed_port" ]; }; then
      echo "postgresql+psycopg://meshplane@127.0.0.1:$port/postgres" # a server of an earlier run: reused
      exit 0
    fi
    if [ -n "$port" ]; then # running on another port than the one asked for
      "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      rm -rf "$dir/data"
      mkdir -p "$dir"
      [ "$owner" = "postgres" ] && chown -R postgres "$dir"
      if ! "${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U meshplane --auth=trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1; then
        rm -rf "$dir/data"
        fail 5 "initdb failed ($bindir/initdb -D $dir/data)" "$dir/initdb.log"
      fi
    fi
    for attempt in 1 2 3; do
      if [ -n "$fixed_port" ]; then
        port=$fixed_port
        if port_in_use "$port"; then
          fail 4 "port $port on 127.0.0.1 (PGTEST_PORT) is taken by another program: free it or unset PGTEST_PORT to use a free port"
        fi
      else
        port=$(free_port) || fail 4 "no free TCP port found on 127.0.0.1"
      fi
      : >"$dir/server.log"
      [ "$owner" = "postgres" ] && chown postgres "$dir/server.log"
      if "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start \
        >/dev/null 2>&1; then
        echo "postgresql+psycopg://meshplane@127.0.0.1:$port/postgres"
        exit 0
      fi
      if grep -q "could not bind\|Address already in use" "$dir/server.log"; then
        # taken between the check and the start: a fixed port is an error, a chosen one is chosen again
        [ -n "$fixed_port" ] && fail 4 "port $port on 127.0.0.1 (PGTEST_PORT) is taken by another program" "$dir/server.log"
        [ "$attempt" = 3 ] && fail 4 "port $port on 127.0.0.1 was taken before the server could bind it (3 attempts)" "$dir/server.log"
        continue
      fi
      break
    done
    fail 6 "the PostgreSQL server did not start (pg_ctl -D $dir/data start)" "$dir/server.log"
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
