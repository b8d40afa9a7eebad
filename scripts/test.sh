#!/usr/bin/env bash
# THE test command: `bash scripts/test.sh [tier ...]` (tiers: checks unit lsp api ui; default all).
# On a fresh machine it does all set-up first:
#   1. npm ci, only when node_modules is missing or does not match package.json / the lock;
#   2. the VS Code runtime (Chromium, Node 24, code-server) via scripts/setup-vscode-runtime.sh,
#      cached outside the clone (~/.cache/winnow/vscode-runtime);
#   3. the build: node esbuild.mjs --tests (bundles and every test file into out/test);
# then scripts/run-tests.mjs runs typecheck + lint and the tiers in order (unit, lsp, vscode
# api, vscode ui), prints per-tier counts and ends with `N passed, N failed`.
# Screenshots of the UI tests land in test-results/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { echo "[test.sh] $*"; }
elapsed() { echo "$((SECONDS - t0)) s"; }

bash scripts/ensure-deps.sh
step "dependencies ready ($(elapsed))"

# Only the tiers that run in a real VS Code need the runtime.
need_runtime=1
if [ $# -gt 0 ]; then
  need_runtime=0
  for t in "$@"; do case "$t" in api|ui) need_runtime=1 ;; esac; done
fi
if [ "$need_runtime" = 1 ]; then
  bash scripts/setup-vscode-runtime.sh >/dev/null
  step "VS Code runtime ready ($(elapsed))"
fi

rm -rf out/test
node esbuild.mjs --tests
step "build done ($(elapsed))"

# The runner's summary line is the last line of the output; it also reports the wall time,
# set-up included.
WINNOW_TEST_SETUP_SECONDS=$((SECONDS - t0)) exec node scripts/run-tests.mjs "$@"
