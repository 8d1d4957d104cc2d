#!/usr/bin/env bash
# The full schemathesis run against a served, seeded API (embedded deployment, private
# home): every check, every phase (stateful included), NUL characters allowed, an admin
# token. The test suite runs the same configuration in process
# (tests/server/test_schemathesis.py); this one goes over HTTP with a real server.
#
#   scripts/api_fuzz/run.sh [--max-examples N] [other `st run` options]
#
# Exit status: schemathesis's (0: no failure). One worker: the embedded deployment is one
# SQLite file, and a backup or vacuum generated meanwhile would hold the others up.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=$(cd "${VENV:-.venv}" && pwd)
# A free port of our own: the run must never reach another server on this machine.
PORT=${ST_PORT:-$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
HOME_DIR=$(mktemp -d -t agentos-st-XXXXXX)
export AGENTOS_HOME="$HOME_DIR" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
unset AGENTOS_DATABASE_URL AGENTOS_REDIS_URL
# The run measures behaviour, not the limiter.
for tier in PUBLIC USER UPLOAD ADMIN_READ ADMIN_ACTION; do
    export "AGENTOS_RATELIMIT_${tier}_PER_MIN=1000000"
done
export AGENTOS_RATELIMIT_BURST_FACTOR=0

server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$HOME_DIR"
}
trap cleanup EXIT

"$VENV/bin/agentos" db reset-and-seed --jobs 25 --events 100 --clean --yes >/dev/null
printf '%s\n' "st-admin-password-$$" | "$VENV/bin/agentos" users create st-admin --role admin \
    --password-stdin >/dev/null
TOKEN=$("$VENV/bin/agentos" token st-admin --ttl 7200)

if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "port $PORT is taken by another server; set ST_PORT" >&2
    exit 2
fi
"$VENV/bin/agentos" serve --host 127.0.0.1 --port "$PORT" >"$HOME_DIR/server.log" 2>&1 &
server=$!
started=""
for _ in $(seq 1 60); do
    kill -0 "$server" 2>/dev/null || break
    if curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/queue/status" \
        >/dev/null 2>&1; then
        started=1
        break
    fi
    sleep 1
done
if [ -z "$started" ]; then
    echo "the server did not start:" >&2
    cat "$HOME_DIR/server.log" >&2
    exit 2
fi

status=0
REPO=$PWD
# From the private home: schemathesis keeps its crash cache in the working directory.
cd "$HOME_DIR"
SCHEMATHESIS_HOOKS=scripts.api_fuzz.hooks "$VENV/bin/st" \
    --config-file "$REPO/scripts/api_fuzz/schemathesis.toml" run \
    "http://127.0.0.1:$PORT/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --header "Authorization: Bearer $TOKEN" \
    --generation-allow-x00 true \
    --workers 1 \
    --generation-database none \
    --request-timeout 60 \
    "$@" || status=$?
exit "$status"
