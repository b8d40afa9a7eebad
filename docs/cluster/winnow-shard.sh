#!/bin/sh
# One step of a sharded Winnow run (docs/cluster.md). The same script runs as a Slurm job-array
# task (winnow.sbatch) and as a Kubernetes Indexed Job pod (winnow-jobs.yaml): `--shard auto`
# reads the shard from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX /
# WINNOW_SHARD_COUNT.
#
#   winnow-shard.sh map       every shard: ASK-LLM scores, embeddings, its DENSITY sketch
#   winnow-shard.sh reduce    once: the sum of the shards' sketches
#   winnow-shard.sh density   every shard: DENSITY scores against the summed sketch
#   winnow-shard.sh merge     once: the shards' outputs joined into scores.jsonl, density.jsonl
#
# A task that exits 3 finished with rows in error (the engine gave up on them): run it again,
# it resumes from the cache and retries only those rows.
set -eu
: "${WINNOW:=winnow}"
: "${DATA:?set DATA to the dataset, on storage every task can read}"
: "${OUT:?set OUT to the output folder, on storage every task can write}"
: "${JUDGE_ARGS:=--engine vllm --endpoint http://vllm:8000/v1 --model Qwen/Qwen2.5-7B-Instruct}"
: "${EMBED_ARGS:=--model Xenova/all-MiniLM-L6-v2}"
# Scores and embeddings persist here, one subfolder per shard, so a rerun (or the density step
# of the same shard) resumes from them.
: "${WINNOW_CACHE_DIR:=$OUT/cache}"
export WINNOW_CACHE_DIR
shard=${SLURM_ARRAY_TASK_ID:-${JOB_COMPLETION_INDEX:-${WINNOW_SHARD_INDEX:-0}}}
mkdir -p "$OUT/scores" "$OUT/sketches" "$OUT/density"
case "${1:-}" in
  map)
    # shellcheck disable=SC2086 # the ARGS variables hold several flags
    $WINNOW score "$DATA" --shard auto $JUDGE_ARGS --out "$OUT/scores/$shard.jsonl" --progress json --json
    # shellcheck disable=SC2086
    $WINNOW density "$DATA" --shard auto $EMBED_ARGS --sketch-out "$OUT/sketches/$shard.wnds" --progress json --json
    ;;
  reduce)
    $WINNOW merge "$OUT/all.wnds" "$OUT"/sketches/*.wnds --json
    ;;
  density)
    # shellcheck disable=SC2086
    $WINNOW density "$DATA" --shard auto $EMBED_ARGS --sketch-in "$OUT/all.wnds" --out "$OUT/density/$shard.jsonl" --progress json --json
    ;;
  merge)
    $WINNOW merge "$OUT/scores.jsonl" "$OUT"/scores/*.jsonl --json
    $WINNOW merge "$OUT/density.jsonl" "$OUT"/density/*.jsonl --json
    ;;
  *)
    echo "usage: winnow-shard.sh map|reduce|density|merge" >&2
    exit 2
    ;;
esac
