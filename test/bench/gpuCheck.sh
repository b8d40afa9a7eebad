#!/usr/bin/env bash
# The one device run of issue 13 (docs/benchmarks.md#the-gpu-against-pytorch): Winnow against
# PyTorch on the same GPU, same weights, same prompts, in ONE call of at most 9 minutes.
#
# Here, first:   bash test/bench/gpuCheckBundle.sh      (builds .cache/gpu-bench and .gl)
# On the device: bash test/bench/gpuCheck.sh            with carry [".cache/gpu-bench", ".gl"]
#                (and ".cache/gpu-cuda" for the CUDA EP pass, when branch gpuroute provides it)
# Here, to prove the plumbing without a GPU: bash test/bench/gpuCheck.sh --dry-run
#   (CPU only, small models, few rows; torch_baseline.py reports "skipped" where torch is absent)
#
# Steps, each under a time cap and the whole under GPU_CHECK_SECONDS (default 530):
#  1. nvidia-smi, the Vulkan/glvnd .debs unpacked (WebGPU), the Node bundle unpacked to /tmp/w;
#  2. prepare: score.bench.js --prepare-only builds the random-weight models (Flan-T5-small,
#     Flan-T5-base, SmolLM2-135M shapes) into /tmp/w/models and writes the prompts file;
#  3. torch_baseline.py on those ONNX weights and prompts → $OUT/torch.json;
#  4. score.bench.js --device webgpu --baseline torch.json → "ratio to PyTorch" and agreement;
#  5. if .cache/gpu-cuda/onnxruntime-node exists (onnxruntime-node@1.29.0 with the asus4 CUDA 13
#     providers in bin/napi-v6/linux/x64, and onnxruntime-common@1.29.0 beside it), the same on
#     the CUDA execution provider, LD_LIBRARY_PATH pointing at the pip nvidia-* lib folders;
#  6. bench:density --device webgpu on 1M × 384 with the share of the GPU's FP32 rate.
# Files under $OUT (at most 8 come back): summary.txt prepare.log torch.json torch.log
# score-webgpu.log score-cuda.log density.log
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
dry=false
[ "${1:-}" = "--dry-run" ] && dry=true
OUT=${OUT:-$repo/.cache/gpu-check-out}
mkdir -p "$OUT"
start=$(date +%s)
budget=${GPU_CHECK_SECONDS:-530}
rows=${GPU_CHECK_ROWS:-256}
summary=$OUT/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

# step NAME CAP LOG CMD...: runs CMD with a timeout of min(CAP, time left - 10 s), logs rc.
step() {
  local name=$1 cap=$2 log=$3
  shift 3
  local left=$((budget - ($(date +%s) - start) - 10))
  local t=$((cap < left ? cap : left))
  if [ "$t" -lt 15 ]; then
    note "SKIPPED $name: ${left}s left of the ${budget}s budget"
    return 0
  fi
  local t0=$(date +%s)
  PYTHONUNBUFFERED=1 timeout "$t" "$@" >>"$log" 2>&1
  local rc=$?
  note "step $name: rc=$rc in $(($(date +%s) - t0))s (cap ${t}s)$([ $rc = 124 ] && echo ' TIMED OUT')"
  return 0
}

note "== gpuCheck $(date -u +%FT%TZ) dry-run=$dry rows=$rows budget=${budget}s =="
nvidia-smi >>"$summary" 2>&1 || note "nvidia-smi: not available"
if [ -d .gl ] && ! $dry; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
bundle=.cache/gpu-bench
w=${GPU_CHECK_WORK:-/tmp/w}
if [ ! -f "$bundle/bundle.tar.xz" ]; then
  note "no $bundle/bundle.tar.xz: run bash test/bench/gpuCheckBundle.sh here and carry $bundle"
  exit 1
fi
rm -rf "$w" && mkdir -p "$w/out/test/bench" "$w/models"
tar -xJf "$bundle/bundle.tar.xz" -C "$w" || { note "unpacking the bundle failed"; exit 1; }
cp "$bundle"/score.bench.js "$bundle"/density.bench.js "$w/out/test/bench/"
node=$w/bin/node
note "node $($node --version); python3 $(python3 --version 2>&1)"

if $dry; then
  device=cpu sizeArgs=(--size small --examples 6 --reps 1) torchArgs=(--batches 2,4 --reps 1)
  densityArgs=(--n 20000 --js-n 2000) models=t5
else
  device=webgpu sizeArgs=(--examples "$rows") torchArgs=(--compile-budget 100)
  densityArgs=(--n 1000000 --js-n 2000 --device webgpu --peak-gflops "${GPU_FP32_GFLOPS:-67000}")
  models=all
fi
common=(--model "$models" --models-dir "$w/models" "${sizeArgs[@]}")
prompts=$w/models/prompts.json
step prepare 120 "$OUT/prepare.log" "$node" "$w/out/test/bench/score.bench.js" "${common[@]}" \
  --device cpu --prepare-only --prompts-out "$prompts"
step torch 200 "$OUT/torch.log" python3 test/bench/torch_baseline.py --prompts "$prompts" \
  --out "$OUT/torch.json" "${torchArgs[@]}"
baseline=()
if [ -f "$OUT/torch.json" ] && ! grep -q '"skipped"' "$OUT/torch.json"; then
  baseline=(--baseline "$OUT/torch.json")
else
  note "no usable torch.json: bench:score runs without --baseline"
fi
step score-$device 170 "$OUT/score-$device.log" "$node" "$w/out/test/bench/score.bench.js" \
  "${common[@]}" --device "$device" "${baseline[@]}"

cuda=.cache/gpu-cuda
if [ -d "$cuda/onnxruntime-node" ] && ! $dry; then
  wc=$w-cuda
  rm -rf "$wc" && mkdir -p "$wc"
  cp -r "$w/bin" "$w/node_modules" "$w/out" "$wc/"
  rm -rf "$wc/node_modules/onnxruntime-node" "$wc/node_modules/onnxruntime-common"
  cp -r "$cuda/onnxruntime-node" "$wc/node_modules/"
  [ -d "$cuda/onnxruntime-common" ] && cp -r "$cuda/onnxruntime-common" "$wc/node_modules/"
  nv=$(python3 -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null)
  libs=$(find "$nv" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
  note "CUDA EP pass: onnxruntime-node from $cuda; LD_LIBRARY_PATH += $libs"
  LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} step score-cuda 150 \
    "$OUT/score-cuda.log" "$wc/bin/node" "$wc/out/test/bench/score.bench.js" \
    "${common[@]}" --device cuda "${baseline[@]}"
else
  note "SKIPPED score-cuda: no $cuda/onnxruntime-node in the carry (branch gpuroute builds it)"
fi
step density 100 "$OUT/density.log" "$node" "$w/out/test/bench/density.bench.js" "${densityArgs[@]}"

note "== summary lines =="
grep -h -E "^(RATIO|SPEED-UP|  agreement|pipeline \(bucketed\)|raw session.run|== |loaded in|wall time|ratio to raw|share of)" \
  "$OUT"/score-*.log "$OUT/density.log" 2>/dev/null >>"$summary"
note "total $(($(date +%s) - start))s"
