#!/usr/bin/env bash
# Prints the version every package, archive and program of this commit carries (MinVer, from v* tags).
set -euo pipefail
cd "$(dirname "$0")/.."
# MinVer's target exists only once the project is restored (a fresh clone has not been)
dotnet restore contracts/OnceHub.Events -nologo -v q >&2
dotnet msbuild contracts/OnceHub.Events -t:MinVer -getProperty:MinVerVersion -nologo
