#!/usr/bin/env sh
# Runs the many-writers test of the file account at full size: 64 emulator processes (or the first
# argument) creating webhooks in one account of 5,000. The test suite runs it with 8.
# Usage: tests/OnceHub.Benchmarks/many-writers.sh [processes]
set -eu
cd "$(dirname "$0")/../.."
ONCEHUB_ACCOUNT_WRITERS="${1:-64}" exec dotnet test tests/OnceHub.Api.Tests \
    --filter "FullyQualifiedName~Many_emulator_processes_write_to_one_account" \
    --logger "console;verbosity=detailed"
