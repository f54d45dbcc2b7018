#!/usr/bin/env bash
# After `pulumi up -s STACK`: runs the contract suite against each deployed webhook's url with that webhook's
# secret (read from the stack's outputs, never printed), writing JUnit XML per webhook to RESULTS_DIR.
# Needs the Pulumi CLI logged in to the stack's backend and `oncehub` on PATH (scripts/install-tool.sh).
# Usage: scripts/contract-gate.sh STACK [RESULTS_DIR]   (default artifacts/contract-results)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 STACK [RESULTS_DIR]" >&2; exit 2; }
stack=$1
results=${2:-artifacts/contract-results}
mkdir -p "$results"
status=0
for hook in bookings conversations; do
  url=$(pulumi stack output "${hook}WebhookUrl" -s "$stack")
  secret=$(pulumi stack output "${hook}WebhookSecret" --show-secrets -s "$stack")
  # GitHub replaces the value with *** in every later log line
  if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::add-mask::$secret"; fi
  ONCEHUB_WEBHOOK_SECRET="$secret" oncehub verify --target "$url" --report "$results/$hook.xml" || status=1
done
exit "$status"
