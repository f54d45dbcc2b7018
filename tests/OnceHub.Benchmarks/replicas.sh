#!/usr/bin/env sh
# Runs the replicas test at full size: 10,000 events (or the first argument), each delivered one to three times
# through nginx round-robin to three reference receivers on one PostgreSQL, one receiver killed twice under load.
# Uses the server named by ONCEHUB_TEST_POSTGRES, or a throwaway one (.ci/postgres run). The test suite runs 300.
# Usage: tests/OnceHub.Benchmarks/replicas.sh [events]
set -eu
cd "$(dirname "$0")/../.."
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx is missing: scripts/install-prerequisites.sh installs it (Debian's nginx-light)" >&2
    exit 2
fi
export ONCEHUB_REPLICA_EVENTS="${1:-10000}"
set -- dotnet test tests/OnceHub.Contracts.Tests \
    --filter "FullyQualifiedName~ReplicaTests" --logger "console;verbosity=detailed"
if [ -n "${ONCEHUB_TEST_POSTGRES:-}" ]; then
    exec "$@"
fi
exec .ci/postgres run "$@"
