#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, idempotently:
#  - Debian's Chromium (driven by playwright-core) and Neovim (the LSP-over-stdio test),
#  - Node 24 (npm package node-linux-<arch>) and code-server 4.139.1 (VS Code 1.139.1 server),
# into a cache folder outside the clone, so that repeated runs reuse it.
# Prints the runtime folder on its last line.
set -euo pipefail

RT="${WINNOW_VSCODE_RUNTIME:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow/vscode-runtime}"
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
VSCODE_VERSION=1.139.1 # inside code-server $CODE_SERVER_VERSION

log() { echo "[setup-vscode-runtime] $*" >&2; }

case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) log "unsupported machine $(uname -m)"; exit 1 ;;
esac

# apt needs root; use sudo when we are not root and it is there.
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v make >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
[ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3) # node-gyp
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)     # scripts/package.mjs checks the VSIX
command -v flock >/dev/null 2>&1 || need_apt+=(util-linux)
command -v nvim >/dev/null 2>&1 || need_apt+=(neovim)       # test/lsp/neovim.test.ts (LSP over stdio)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# One install at a time (CI and a developer, or two test runs, may start together).
mkdir -p "$(dirname "$RT")"
exec 9>"$RT.lock"
flock 9

N24="$RT/node_modules/node-linux-$ARCH"
MAIN="$RT/node_modules/code-server/lib/vscode/out/server-main.js"
if [ -x "$N24/bin/node" ] && [ -f "$MAIN" ] && \
   [ "$("$N24/bin/node" "$MAIN" --version 2>/dev/null | head -1)" = "$VSCODE_VERSION" ]; then
  log "runtime present: $RT"
  echo "$RT"
  exit 0
fi

log "installing Node $NODE_VERSION and code-server $CODE_SERVER_VERSION into $RT"
mkdir -p "$RT"
cd "$RT"
[ -f package.json ] || echo '{"name":"vscode-runtime","private":true}' > package.json
npm install --no-audit --no-fund --loglevel=error "node-linux-$ARCH@$NODE_VERSION" >&2
PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm_config_yes=true \
  npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2
v=$("$N24/bin/node" "$MAIN" --version | head -1)
[ "$v" = "$VSCODE_VERSION" ] || { log "unexpected VS Code version: $v"; exit 1; }
log "installed VS Code $v"
echo "$RT"
