#!/usr/bin/env bash
# Installs node_modules with `npm ci` when it is missing, or when `npm ls` reports a package
# missing or at a version package.json does not allow (extraneous packages are tolerated: a
# teammate's uncommitted experiment is no reason to wipe a shared node_modules).
# Run from the repository root.
set -euo pipefail
if [ ! -d node_modules ]; then
  echo "[deps] node_modules missing: npm ci" >&2
  npm ci --no-audit --no-fund >&2
  exit 0
fi
problems="$(npm ls --all --json 2>/dev/null | node -e '
  let s = "";
  process.stdin.on("data", d => (s += d)).on("end", () => {
    let j = {};
    try { j = JSON.parse(s); } catch { console.log("npm ls gave no JSON"); return; }
    const p = (j.problems || []).filter(x => !/^extraneous/.test(x));
    if (p.length) console.log(p.slice(0, 5).join("\n"));
  });
')"
if [ -n "$problems" ]; then
  echo "[deps] node_modules does not match package.json:" >&2
  echo "$problems" | sed 's/^/  /' >&2
  echo "[deps] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
