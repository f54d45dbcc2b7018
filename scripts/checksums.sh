#!/usr/bin/env bash
# Writes artifacts/release/SHA256SUMS over every file there (verify with: cd artifacts/release && sha256sum -c SHA256SUMS).
set -euo pipefail
cd "$(dirname "$0")/../artifacts/release"
sums=$(mktemp)
find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs -r sha256sum > "$sums"
mv "$sums" SHA256SUMS
chmod 0644 SHA256SUMS
