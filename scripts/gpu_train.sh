#!/usr/bin/env bash
# One call of a GPU lease (docs/training.md, "On a lent GPU"): install the carried wheels,
# prepare the carried corpus parts into a cache, resume the run in gpu/run (seeded from
# gpu/seed where the machine kept no run folder), train until SECONDS_BUDGET have passed,
# and copy the newest checkpoint and the logs to $OUT.
#   usage (on the GPU machine): bash scripts/gpu_train.sh SECONDS_BUDGET [--set key=value ...]
set -u
budget=${1:?seconds}; shift
start=$(date +%s)
# Fail at once, not after the lease's minutes, when something did not travel.
if [ ! -d gpu/run/checkpoints ] && [ -z "$(ls gpu/seed 2>/dev/null)" ]; then
  echo "no run folder kept here and no checkpoint in gpu/seed: carry gpu/seed" >&2; exit 2
fi
parts=$(ls gpu/part_*/manifest.jsonl 2>/dev/null | tr '\n' ' ')
if [ -z "$parts" ]; then
  echo "no corpus part here: carry a gpu/part_* (scripts/build_gpu_subset.py)" >&2; exit 2
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
if [ ! -d gpu/run/checkpoints ]; then  # seed from gpu/seed/FOLDER (checked above)
  seed=$(ls gpu/seed | tail -1)
  if [ -f gpu/seed/"$seed"/optimizer_g.safetensors ]; then  # a whole checkpoint, step_000NNNNN: resume it
    mkdir -p gpu/run/checkpoints && cp -r gpu/seed/"$seed" gpu/run/checkpoints/
    printf '{"step": %d, "dir": "%s"}' "$((10#${seed#step_}))" "$seed" > gpu/run/checkpoints/latest.json
  else  # a lineage seed (scripts/save_lineage_seed.py, weights only): a fresh run from them, at their step
    step=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['step'])" gpu/seed/"$seed"/state.json) || exit 2
    set -- --set schedule.init_from=gpu/seed/"$seed" --set schedule.init_step="$step" "$@"
  fi
fi
if [ "$(cat gpu/cache.parts 2>/dev/null)" != "$parts" ]; then
  rm -rf gpu/cache && python3 -m rvqgan prepare $parts -o gpu/cache --workers 16 || exit 1
  echo "$parts" > gpu/cache.parts
fi
left=$(( budget - ($(date +%s) - start) - 25 ))
echo "training for $left s"
train() {
  timeout -s TERM -k 60 "$1" python3 -m rvqgan train configs/default_gpu.yaml --run-dir gpu/run "${@:2}" 2>&1 \
    | tee -a gpu/train.log | awk 'NR%10==1 || /rror|aceback/'
  return "${PIPESTATUS[0]}"
}
train "$left" "$@"; status=$?
left=$(( budget - ($(date +%s) - start) - 25 ))
if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && [ "$left" -gt 120 ]; then
  echo "training failed ($status); again in fp32 for $left s"
  train "$left" "$@" --set schedule.precision=fp32
fi
latest=$(python3 -c "import json;print(json.load(open('gpu/run/checkpoints/latest.json'))['dir'])")
mkdir -p "$OUT/ckpt" && cp gpu/run/checkpoints/"$latest"/* "$OUT/ckpt/"
cp gpu/run/metrics.jsonl "$OUT/" 2>/dev/null; tail -c 4000000 gpu/train.log > "$OUT/train.log"
tail -5 gpu/train.log; ls -la "$OUT/ckpt"
