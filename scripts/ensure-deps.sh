#!/usr/bin/env bash
# Installs node_modules with `npm ci` when it is missing or does not match package.json and
# the lock file (`npm ls` fails). Sourced or run from the repository root.
set -euo pipefail
if [ ! -d node_modules ]; then
  echo "[deps] node_modules missing: npm ci" >&2
  npm ci --no-audit --no-fund >&2
elif ! npm ls --all >/dev/null 2>&1; then
  echo "[deps] node_modules does not match package.json: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
