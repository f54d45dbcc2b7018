#!/usr/bin/env bash
# Packs the CLI as the OnceHub.Cli .NET tool into a folder feed and installs it into TOOL_PATH as `oncehub`,
# as a consuming project installs a released one. Usage: scripts/install-tool.sh TOOL_PATH [dotnet pack options]
# (default: -c Release). The version is this commit's (scripts/version.sh).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TOOL_PATH [dotnet pack options]" >&2; exit 2; }
tools=$(realpath -m "$1"); shift
[ $# -gt 0 ] || set -- -c Release
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
version=$(scripts/version.sh)
feed=$(mktemp -d)
trap 'rm -rf "$feed"' EXIT
dotnet pack contracts/OnceHub.Contracts.Cli -o "$feed/feed" -nologo "$@"
# a private package folder: no cache can serve an earlier pack of the same version
NUGET_PACKAGES="$feed/packages" dotnet tool install OnceHub.Cli --tool-path "$tools" --add-source "$feed/feed" --version "$version"
