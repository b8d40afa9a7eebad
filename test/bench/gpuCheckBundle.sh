#!/usr/bin/env bash
# Builds what test/bench/gpuCheck.sh carries to the device (issue 13): the score bench bundle of
# scoreGpuBundle.sh (Node, the node_modules subset, score.bench.js, .gl with the Vulkan/glvnd
# .debs) plus density.bench.js beside it. torch_baseline.py is a tracked file and travels anyway.
#   bash test/bench/gpuCheckBundle.sh [--force]
# Then the device run: carry [".cache/gpu-bench", ".gl"] (plus ".cache/gpu-cuda" when the CUDA
# route of branch gpuroute is packed there) and run `bash test/bench/gpuCheck.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/bench/scoreGpuBundle.sh "$@"
test out/test/bench/density.bench.js -nt test/bench/density.bench.ts || {
  echo "density.bench.js is stale" >&2
  exit 1
}
cp out/test/bench/density.bench.js .cache/gpu-bench/
du -sh .cache/gpu-bench .gl
[ -d .cache/gpu-cuda ] && du -sh .cache/gpu-cuda
echo "carry: .cache/gpu-bench .gl$([ -d .cache/gpu-cuda ] && echo ' .cache/gpu-cuda') (64 MiB in all, with the tracked tree)"
