#!/usr/bin/env bash
# Run the test suite with its real services: a throw-away PostgreSQL server on 127.0.0.1 is
# started (when the binaries are there and no server URL is given) and stopped afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
started=0
if [ -z "${MESHPLANE_TEST_POSTGRES_URL:-}" ]; then
  if url=$(scripts/pg-test-server.sh start 2>/tmp/meshplane-pg-start.log); then
    export MESHPLANE_TEST_POSTGRES_URL=$url
    started=1
  else
    echo "note: no PostgreSQL server binaries; PostgreSQL tests will be skipped (they fail under CI=true)" >&2
  fi
fi
.venv/bin/python -m pytest "$@"
status=$?
[ "$started" = 1 ] && scripts/pg-test-server.sh stop
exit $status
