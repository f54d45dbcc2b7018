#!/usr/bin/env bash
# The README's test command, with results also written as TRX files to artifacts/test-results/ (CI uploads them).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet test OnceHubStack.sln --no-restore --logger "console;verbosity=normal" \
  --logger trx --results-directory artifacts/test-results "$@"
