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
# Few files may come back from the machine: everything goes into one tarball, $out/results.tar.gz, repacked after
# each stage so that a run stopped at its time limit still returns what it finished.
collect=/tmp/mmdisco-collect
export MMDISCO_BENCH_OUT=$collect
pack() { # tar exits 1 when a file changes while read (a run still writing): that copy is still usable
  local part="$out/results.tar.gz.$BASHPID"
  tar -C "$collect" -czf "$part" . 2>/dev/null
  if [ $? -le 1 ]; then mv "$part" "$out/results.tar.gz"; else rm -f "$part"; fi
}
work=${MMDISCO_RESULTS_WORK:-/tmp/mmdisco-results}
device=${MMDISCO_RESULTS_DEVICE:-cuda}
base_set=${MMDISCO_BASE_SET:-}
mkdir -p "$work" "$collect/sheets" "$collect/models"
cli() { node dist/ts/cli/main.js "$@"; }

# Copies what the runs have produced so far (sample sheets, training logs, the trained discriminators) into $collect, then packs it.
snapshot() {
  for dataset in spoken-mnist bouncing-ball; do
    for dir in "$work/$dataset"/sample-* "$work/$dataset"/independent-media; do
      [ -d "$dir" ] && mkdir -p "$collect/sheets/$dataset/$(basename "$dir")" && cp "$dir"/*.png "$collect/sheets/$dataset/$(basename "$dir")/" 2>/dev/null
    done
    for run in "$work/$dataset"/guidance-*; do
      [ -f "$run/state.json" ] && mkdir -p "$collect/guidance/$dataset/$(basename "$run")" &&
        cp "$run"/{config.json,discriminator.safetensors,state.json,log.jsonl} "$collect/guidance/$dataset/$(basename "$run")/"
    done
  done
  pack
}

results() { # dataset, guidanceResults flags
  node dist/bench/guidanceResults.js --config "configs/results/$1.json" --work "$work/$1" --device "$device" "${@:2}" \
    > "$collect/results-$1.log" 2>&1
  echo "results $1: exit $? at $(( $(date +%s) - start )) s" | tee -a "$collect/progress.txt"
  snapshot
}

start=$(date +%s)
results spoken-mnist "$@" &
sm=$!

{
  # The results run's real training pairs (configs/results/bouncing-ball.json) are the base models' data too.
  bb_data=$work/bouncing-ball/real-train
  cli data build --dataset bouncing-ball --split train --pairs 10000 --seed 0 --preset small --out "$bb_data" > "$collect/bb-data.log" 2>&1
  echo "bouncing-ball data: exit $? at $(( $(date +%s) - start )) s" | tee -a "$collect/progress.txt"
  for m in audio video; do
    # shellcheck disable=SC2086
    cli train-base --modality $m --data "$bb_data" --config configs/base/bouncing-ball-$m.json \
      --out models/base/bouncing-ball-$m --set runtime.device=$device $base_set > "$collect/bb-base-$m.log" 2>&1 &
  done
  wait
  echo "bouncing-ball base models: at $(( $(date +%s) - start )) s" | tee -a "$collect/progress.txt"
  for m in audio video; do
    mkdir -p "$collect/models/bouncing-ball-$m" && cp models/base/bouncing-ball-$m/{config.json,normalisation.json,weights.safetensors,log.jsonl} "$collect/models/bouncing-ball-$m/"
  done
  pack
  results bouncing-ball "$@"
} &
bb=$!
(while sleep 60; do snapshot; done) &
snapshots=$!
wait $sm $bb
kill $snapshots
snapshot
echo "all done at $(( $(date +%s) - start )) s" | tee -a "$collect/progress.txt"
