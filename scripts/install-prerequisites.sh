#!/usr/bin/env bash
# Installs what the Native AOT build of the plugin needs beyond the .NET SDK (clang, zlib), when missing.
set -euo pipefail
if command -v clang >/dev/null && [ -e /usr/include/zlib.h ]; then exit 0; fi
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang zlib1g-dev >/dev/null
