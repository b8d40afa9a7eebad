#!/usr/bin/env bash
# Packs what `score.bench.js` needs to run on a machine with no network and no Node (the lent
# GPU machine): the Node binary, the built bench, and the few node_modules it loads
# (onnxruntime-node for linux-x64 only, transformers.js, tokenizers, sharp). node_modules as a
# whole (~470 MB) is far over the 64 MiB a device run can carry; this bundle is ~45 MB.
#
#   bash test/bench/scoreGpuBundle.sh [--force]
#     writes .cache/gpu-bench/bundle.tar.xz (Node + node_modules subset, rebuilt only with
#     --force or when missing), .cache/gpu-bench/score.bench.js and the *Device.test.js files
#     (always) and .gl/ (Vulkan loader)
#
# Then, on the device, with `carry: [".cache/gpu-bench", ".gl"]`:
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
#   export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
# The NVIDIA Vulkan ICD lives in libGLX_nvidia.so.0, which needs the glvnd libraries: with the
# Vulkan loader alone, Dawn reports "vkCreateInstance: Found no drivers" and WebGPU fails.
#   mkdir -p /tmp/w/out/test/bench && tar -xJf .cache/gpu-bench/bundle.tar.xz -C /tmp/w &&
#   cp .cache/gpu-bench/score.bench.js /tmp/w/out/test/bench/ && cd /tmp/w &&
#   ./bin/node out/test/bench/score.bench.js --device auto --model both --examples 64
#   cp $OLDPWD/.cache/gpu-bench/*Device.test.js out/test/bench/ && ./bin/node --test out/test/bench/*Device.test.js
set -euo pipefail
cd "$(dirname "$0")/../.."
# A failed build stops here: shipping the previous build's device tests would test stale code.
node esbuild.mjs --tests || { echo "the build failed (see above): no bundle written" >&2; exit 1; }
test out/test/bench/score.bench.js -nt test/bench/score.bench.ts || { echo "score.bench.js is stale"; exit 1; }
out=.cache/gpu-bench
mkdir -p "$out"
cp out/test/bench/score.bench.js "$out/score.bench.js"
# The accelerator tests (skipped on CPU-only machines): P(yes) and embeddings against the
# closed forms on WebGPU/CUDA.
cp out/test/unit/askllmDevice.test.js out/test/unit/embedDevice.test.js "$out/"
if [ -f "$out/bundle.tar.xz" ] && [ "${1:-}" != "--force" ]; then
  echo "keeping $out/bundle.tar.xz (use --force to rebuild it)"
else
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/node_modules"
cp "$(command -v node)" "$stage/bin/node"
copy() { mkdir -p "$stage/$(dirname "$1")" && cp -r "$1" "$stage/$1"; }
for p in onnxruntime-node/package.json onnxruntime-node/dist onnxruntime-node/lib \
  onnxruntime-node/bin/napi-v6/linux/x64 onnxruntime-common \
  @huggingface/transformers/package.json @huggingface/transformers/dist/transformers.node.cjs \
  @huggingface/tokenizers/package.json @huggingface/tokenizers/dist/tokenizers.cjs \
  sharp @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64 detect-libc semver; do
  copy "node_modules/$p"
done
tar -C "$stage" -cf - . | xz -T1 -6 >"$out/bundle.tar.xz"
fi
ls -la "$out"
# The Vulkan loader for the WebGPU execution provider (docs/runtime.md#execution-providers), as device/README.md
# describes; the NVIDIA driver on the device supplies the ICD.
if [ ! -d .gl ] || ! ls .gl/libvulkan1_*.deb .gl/libglvnd0_*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2)
fi
ls -la .gl
