#!/usr/bin/env bash
# Installs what the build and tests need beyond the .NET SDK, when missing: clang and zlib for the Native AOT
# build of the plugin, nginx-light for the load balancer in front of the receiver replicas test.
set -euo pipefail
missing=()
command -v clang >/dev/null || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ ${#missing[@]} -gt 0 ] || exit 0
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
