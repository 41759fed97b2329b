#!/usr/bin/env bash
# On a GPU machine: the results tables of bench/guidanceResults.ts for both datasets on CUDA. spoken-mnist uses the
# shipped base models; the bouncing-ball base models are trained here first with their committed (CPU-sized)
# configs. Everything is written under the folder given as $1 as soon as it is done: logs, the base checkpoints
# (models/), the results JSON/Markdown and the sample sheets (sheets/). Extra arguments go to guidanceResults
# (e.g. a reduced dry run: --set fakes.n=16 --guidance-set training.steps=4). Needs .gpu/ (bench/gpu/prepare.sh),
# dist/ and .cache/banks carried from the development machine.
set -uo pipefail
source "$(dirname "$0")/setup.sh" "$1"
shift
work=${MMDISCO_RESULTS_WORK:-/tmp/mmdisco-results}
device=${MMDISCO_RESULTS_DEVICE:-cuda}
base_set=${MMDISCO_BASE_SET:-}
mkdir -p "$work" "$out/sheets" "$out/models"
cli() { node dist/ts/cli/main.js "$@"; }

results() { # dataset
  node dist/bench/guidanceResults.js --config "configs/results/$1.json" --work "$work/$1" --device "$device" "${@:2}" \
    > "$out/results-$1.log" 2>&1
  echo "results $1: exit $? at $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
  for dir in "$work/$1"/sample-* "$work/$1"/independent-media; do
    [ -d "$dir" ] && mkdir -p "$out/sheets/$1/$(basename "$dir")" && cp "$dir"/*.png "$out/sheets/$1/$(basename "$dir")/" 2>/dev/null
  done
  cp "$work/$1"/guidance-*/log.jsonl "$out/sheets/$1/" 2>/dev/null || true
  for run in "$work/$1"/guidance-*; do cp "$run/log.jsonl" "$out/sheets/$1/$(basename "$run").log.jsonl" 2>/dev/null; done
}

start=$(date +%s)
results spoken-mnist "$@" &
sm=$!

{
  # The results run's real training pairs (configs/results/bouncing-ball.json) are the base models' data too.
  bb_data=$work/bouncing-ball/real-train
  cli data build --dataset bouncing-ball --split train --pairs 10000 --seed 0 --preset small --out "$bb_data" > "$out/bb-data.log" 2>&1
  echo "bouncing-ball data: exit $? at $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
  for m in audio video; do
    # shellcheck disable=SC2086
    cli train-base --modality $m --data "$bb_data" --config configs/base/bouncing-ball-$m.json \
      --out models/base/bouncing-ball-$m --set runtime.device=$device $base_set > "$out/bb-base-$m.log" 2>&1 &
  done
  wait
  echo "bouncing-ball base models: at $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
  for m in audio video; do
    mkdir -p "$out/models/bouncing-ball-$m" && cp models/base/bouncing-ball-$m/{config.json,normalisation.json,weights.safetensors,log.jsonl} "$out/models/bouncing-ball-$m/"
  done
  results bouncing-ball "$@"
} &
bb=$!
wait $sm $bb
echo "all done at $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
