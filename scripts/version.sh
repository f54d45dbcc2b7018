#!/usr/bin/env bash
# Prints the version every package, archive and program of this commit carries (MinVer, from v* tags).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet msbuild contracts/OnceHub.Events -t:MinVer -getProperty:MinVerVersion -nologo
