#!/usr/bin/env bash
# Builds the provider plugin as Pulumi installs it, into artifacts/release/:
#   pulumi-resource-oncehub-v<version>-<os>-<arch>.tar.gz, the executable and LICENSE at the archive's root,
# then refreshes artifacts/release/SHA256SUMS.
# Usage: scripts/plugin-archive.sh TARGET...   TARGET: linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64
# linux-amd64 is Native AOT (needs a linux-x64 host with clang and zlib), published by scripts/plugin-publish.sh to
# artifacts/plugin, where Pulumi.yaml and the tests load it from, so one build serves all three. The others are
# self-contained single files, trimmed: Native AOT does not cross-compile to another OS or architecture.
# The schema's pluginDownloadURL comes from the PluginDownloadUrl property (Directory.Build.props, or the environment).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

[ $# -gt 0 ] || { echo "usage: $0 TARGET... (linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64)" >&2; exit 2; }
version=$(scripts/version.sh)
release=artifacts/release
mkdir -p "$release"

for target in "$@"; do
  binary=pulumi-resource-oncehub
  case "$target" in
    linux-amd64) rid=linux-x64 ;;
    linux-arm64) rid=linux-arm64 ;;
    darwin-amd64) rid=osx-x64 ;;
    darwin-arm64) rid=osx-arm64 ;;
    windows-amd64) rid=win-x64 binary=pulumi-resource-oncehub.exe ;;
    *) echo "unknown target '$target': one of linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64" >&2; exit 2 ;;
  esac

  if [ "$target" = linux-amd64 ]; then
    if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
      echo "linux-amd64 is built with Native AOT on a linux x86_64 host; this is $(uname -s)-$(uname -m)" >&2; exit 2
    fi
    publish=artifacts/plugin
    scripts/plugin-publish.sh --require-aot "$version"
  else
    publish=artifacts/plugin-build/$target
    rm -rf "$publish"
    dotnet publish infra/OnceHub.Provider -c Release -r "$rid" -o "$publish" -nologo \
      -p:PublishAot=false -p:SelfContained=true -p:PublishSingleFile=true -p:PublishTrimmed=true \
      -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none
  fi

  staging=$(mktemp -d)
  cp "$publish/$binary" LICENSE "$staging/"
  chmod 0755 "$staging/$binary"
  chmod 0644 "$staging/LICENSE"
  archive="$release/pulumi-resource-oncehub-v$version-$target.tar.gz"
  tar -czf "$archive" -C "$staging" --owner=0 --group=0 --numeric-owner "$binary" LICENSE
  rm -rf "$staging"
  echo "$archive"
done

scripts/checksums.sh
