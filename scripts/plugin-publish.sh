#!/usr/bin/env bash
# Publishes the provider plugin for this machine with the README's command into artifacts/plugin, where Pulumi.yaml
# and the tests load it from, and stamps artifacts/plugin.version with the version it was built as.
# Native AOT needs clang and zlib beside the .NET SDK; without them the same plugin is published framework-dependent,
# which the engine starts the same way, unless --require-aot is given (a release must ship the native binary).
# Usage: scripts/plugin-publish.sh [--require-aot] [VERSION]   VERSION: scripts/version.sh's when not given.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

require_aot=false
if [ "${1:-}" = --require-aot ]; then require_aot=true; shift; fi
version=${1:-$(scripts/version.sh)}
publish=artifacts/plugin
binary=pulumi-resource-oncehub
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# no leftovers from a publish of the other kind
if [ -f "$publish/$binary.dll" ]; then rm -rf "$publish"; fi
if ! dotnet publish infra/OnceHub.Provider -c Release -o "$publish" -nologo 2>&1 | tee "$log"; then
  if $require_aot || ! grep -qiE 'nativeaot-prerequisites|Platform linker|Symbol stripping tool' "$log"; then exit 1; fi
  rm -rf "$publish"
  dotnet publish infra/OnceHub.Provider -c Release -o "$publish" -nologo -p:PublishAot=false
fi
if $require_aot && [ -f "$publish/$binary.dll" ]; then
  echo "the plugin was not published with Native AOT: install clang and zlib (https://aka.ms/nativeaot-prerequisites)" >&2; exit 1
fi
echo "$version" > artifacts/plugin.version
