#!/usr/bin/env bash
# On a GPU machine: the results table of `mmdisco results run` (ts/cli/results.ts) for one results config, with its discriminator
# variants trained and sampled in parallel, one process per variant sharing one work directory, then tabled together.
#
#   bench/gpu/results.sh OUT configs/results/<name>.json [TRAIN_SECONDS [results run flags…]]
#
# TRAIN_SECONDS > 0 sizes the training to the machine: every variant first trains 60 steps alongside the others, the
# slowest one's steady per-step time (steps 20 → 60 of its log) under that sharing sets training.steps so that it
# finishes in TRAIN_SECONDS; progress.txt and the table's log record the steps. 0 (the default) keeps the configs'
# steps. Extra flags go to every results run call (e.g. a reduced dry run: --set evaluation.n=16).
#
# At most 8 files of 16 MiB come back from the machine: $OUT/results.tar.gz holds the logs, progress, the results
# JSON/Markdown and the sample sheets, repacked after each stage so that a run stopped at its limit still returns
# what it finished; each trained discriminator goes into its own $OUT/guidance-<variant>.tar.gz once its sets are drawn.
# Needs .gpu/ (bench/gpu/prepare.sh), dist/ and .cache/banks carried from the development machine.
set -uo pipefail
source "$(dirname "$0")/setup.sh" "$1"
config=${2:?usage: $0 OUT CONFIG [TRAIN_SECONDS [flags…]]}
train_seconds=${3:-0}
extra=("${@:4}")
name=$(basename "$config" .json)
work=${MMDISCO_RESULTS_WORK:-/tmp/mmdisco-results}/$name
device=${MMDISCO_RESULTS_DEVICE:-cuda}
collect=/tmp/mmdisco-collect/$name
export MMDISCO_BENCH_OUT=$collect
mkdir -p "$work" "$collect"
start=$(date +%s)

pack() {
  cp "$work"/results.json "$work"/results.md "$collect/" 2>/dev/null
  for dir in "$work"/sample-* "$work"/independent-media; do
    [ -d "$dir" ] && mkdir -p "$collect/sheets/$(basename "$dir")" && cp "$dir"/*.png "$collect/sheets/$(basename "$dir")/" 2>/dev/null
  done
  tarball "$out/results.tar.gz" "$collect"
}
progress() {
  echo "$* at $(( $(date +%s) - start )) s" | tee -a "$collect/progress.txt"
  pack
}
results() { # log name, results run flags
  local log=$1
  node dist/ts/cli/main.js results run --config "$config" --device "$device" "${@:2}" "${extra[@]}" > "$collect/$log.log" 2>&1
  progress "$log: exit $?"
}

# The stages every variant shares: real data, the fake-pair bank, the independent set.
results shared --work "$work" --variants
variants=$(node -e 'console.log([...new Set(require(process.argv[1]).variants.map((v) => v.name))].join(" "))' "$PWD/$config")

steps=()
if [ "$train_seconds" -gt 0 ]; then
  for v in $variants; do
    mkdir -p "$work-calibration/$v" && ln -sfn "$work"/{real-train,real-test,fakes,independent} "$work-calibration/$v/"
    results "calibration-$v" --work "$work-calibration/$v" --variants "$v" --train-only \
      --guidance-set training.steps=60 --guidance-set training.logEvery=20 --guidance-set training.checkpointEvery=60 &
  done
  wait
  n=$(node -e '
    const fs = require("fs");
    const [dir, seconds, ...names] = process.argv.slice(1);
    const perStep = Math.max(...names.map((v) => {
      const at = Object.fromEntries(fs.readFileSync(`${dir}/${v}/guidance-${v}/log.jsonl`, "utf8").trim().split("\n")
        .map((line) => JSON.parse(line)).filter((e) => e.event === "train").map((e) => [e.step, Date.parse(e.time)]));
      return (at[60] - at[20]) / 40 / 1000;
    }));
    console.log(Math.max(50, Math.floor(seconds / perStep / 50) * 50), perStep.toFixed(4));' \
    "$work-calibration" "$train_seconds" $variants) || { progress "calibration failed"; exit 1; }
  read -r n per_step <<< "$n"
  steps=(--guidance-set "training.steps=$n")
  progress "calibration: slowest variant $per_step s/step with all training together; training.steps=$n"
fi

(while sleep 30; do pack; done) &
packer=$!
pids=()
for v in $variants; do
  {
    results "variant-$v" --work "$work" --variants "$v" "${steps[@]}"
    tarball "$out/guidance-$v.tar.gz" "$work" "guidance-$v"/{config.json,discriminator.safetensors,state.json,log.jsonl}
  } &
  pids+=($!)
done
wait "${pids[@]}"
kill $packer
results table --work "$work" "${steps[@]}"
progress "all done"
