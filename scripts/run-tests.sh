#!/usr/bin/env bash
# Run the test suite with its real services, on every core of the machine (pytest-xdist).
#
# A throw-away PostgreSQL server is started on 127.0.0.1 (on a free port, in its own folder
# .pgtest/run.*) unless MESHPLANE_TEST_POSTGRES_URL is given or PGTEST_START=no, and stopped
# afterwards, even when the run is interrupted; a server left by a run that was killed is stopped by
# the next run. When it cannot start, the reason is printed and the PostgreSQL tests skip (under
# CI=true they fail).
#
# Arguments go to pytest. Without -n/--numprocesses (or -p no:xdist) the tests run in
# $MESHPLANE_TEST_WORKERS processes (default: auto, one per core) with --dist loadgroup: tests
# marked xdist_group(name) (e.g. every Spark test, which shares one Spark session) stay in one
# process.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD/.pgtest

# servers of earlier runs that were killed: their owner is gone, so stop them and delete their data
for old in "$root"/run.*; do
  [ -d "$old" ] || continue
  owner=$(cat "$old/owner" 2>/dev/null || true)
  if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
    continue # a run still going (e.g. in another terminal)
  fi
  PGTEST_DIR=$old scripts/pg-test-server.sh stop 2>/dev/null
  rm -rf "$old"
done

rundir=""
cleanup() {
  if [ -n "$rundir" ]; then
    PGTEST_DIR=$rundir scripts/pg-test-server.sh stop
    rm -rf "$rundir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${MESHPLANE_TEST_POSTGRES_URL:-}" ] && [ "${PGTEST_START:-yes}" != "no" ]; then
  mkdir -p "$root"
  rundir=$(mktemp -d "$root/run.XXXXXX")
  echo $$ >"$rundir/owner"
  if url=$(PGTEST_DIR=$rundir scripts/pg-test-server.sh start 2>"$rundir/start.err"); then
    export MESHPLANE_TEST_POSTGRES_URL=$url
    echo "PostgreSQL test server: $url" >&2
  else
    status=$?
    cat "$rundir/start.err" >&2
    case $status in
      3) why="its server binaries are missing" ;;
      4) why="its port is taken" ;;
      5) why="initdb failed" ;;
      6) why="the server failed to start" ;;
      *) why="scripts/pg-test-server.sh exited with status $status" ;;
    esac
    echo "note: no PostgreSQL server ($why); PostgreSQL tests will be skipped (they fail under CI=true)" >&2
  fi
fi

parallel=(-n "${MESHPLANE_TEST_WORKERS:-auto}" --dist loadgroup)
for arg in "$@"; do
  case $arg in
    -n | -n* | --numprocesses | --numprocesses=* | no:xdist | -pno:xdist) parallel=() ;;
  esac
done
.venv/bin/python -m pytest "${parallel[@]}" "$@"
