#!/usr/bin/env bash
# Everything a release attaches, in artifacts/release/: the plugin archive of every platform, the OnceHub.Cli tool
# OnceHub.Webhooks and OnceHub.Webhooks.PostgreSql packages (with symbols), and SHA256SUMS over all of them. Versioned by the v* tag (MinVer).
# Set PluginDownloadUrl (github://api.github.com/OWNER/REPO) to the repository the release is published from.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# one version for every build below, even if a commit lands while they run
MinVerVersionOverride=$(scripts/version.sh)
export MinVerVersionOverride
rm -rf artifacts/release
scripts/plugin-archive.sh linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64
dotnet pack contracts/OnceHub.Contracts.Cli -c Release -o artifacts/release -nologo
dotnet pack contracts/OnceHub.Webhooks -c Release -o artifacts/release -nologo
dotnet pack contracts/OnceHub.Webhooks.PostgreSql -c Release -o artifacts/release -nologo
scripts/checksums.sh
ls -l artifacts/release
