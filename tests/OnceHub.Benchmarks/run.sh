#!/usr/bin/env sh
# Runs the benchmarks (default: all of them), installing wrk first when it is missing.
# Usage: tests/OnceHub.Benchmarks/run.sh [all | coldstart | convergence | suite | replay | verify ...]
set -eu
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not found: installing the Debian package" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    fi
    # A stale package index is the usual reason for a failed install; refresh it once and retry.
    $SUDO apt-get install -y wrk >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y wrk >&2; } \
        || echo "could not install wrk; the replay figure will say so" >&2
fi

if [ "$#" -eq 0 ]; then
    set -- all
fi
exec dotnet run -c Release --project tests/OnceHub.Benchmarks -- "$@"
