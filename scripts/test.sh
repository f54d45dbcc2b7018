#!/usr/bin/env bash
# The README's test command, with results also written as TRX files (CI uploads them), then one line
# "N passed, N failed[, N skipped]" summed over every test project; the exit code is the tests'. A test that runs
# for 10 minutes is taken as hung: its test host is stopped and the tests it was running are named, so a hang
# fails the run instead of stalling it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="${TEST_RESULTS:-artifacts/test-results}"
rm -rf "$results"
status=0
dotnet test OnceHubStack.sln --no-restore --logger "console;verbosity=normal" \
  --logger trx --results-directory "$results" \
  --blame-hang --blame-hang-timeout 10m --blame-hang-dump-type none "$@" || status=$?
.ci/total "$results"
exit "$status"
