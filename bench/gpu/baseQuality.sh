#!/usr/bin/env bash
# On a GPU machine: trains a spoken-mnist base-model config for a fixed wall time on the shipped models' training
# pairs, then scores 512 independent pairs drawn with it (the other modality from the shipped model) next to 512 of
# the shipped pair, on the same noise (`eval pairs`: recognisable fraction, Fréchet distance, class agreement).
#
#   bench/gpu/baseQuality.sh OUT configs/base/<config>.json SECONDS [train-base flags…]
#
# The run is stopped after SECONDS of training and its last checkpoint (EMA weights, every training.checkpointEvery
# steps) is scored; its log says how many steps that was. Writes $OUT/base-quality.tar.gz (logs, the two reports,
# the checkpoint without its optimiser state). MMDISCO_BASE_QUALITY_DEVICE and _PAIRS change the device (cuda) and the
# number of pairs (512) for a dry run elsewhere. Needs .gpu/ (bench/gpu/prepare.sh), dist/ and .cache/banks carried.
set -uo pipefail
source "$(dirname "$0")/setup.sh" "$1"
config=${2:?usage: $0 OUT CONFIG SECONDS}
seconds=${3:?usage: $0 OUT CONFIG SECONDS}
device=${MMDISCO_BASE_QUALITY_DEVICE:-cuda}
pairs=${MMDISCO_BASE_QUALITY_PAIRS:-512}
modality=$(node -e 'console.log(require(process.argv[1]).modality)' "$PWD/$config")
work=/tmp/mmdisco-base-quality
collect=$work/collect
mkdir -p "$collect"
start=$(date +%s)
progress() { echo "$* at $(( $(date +%s) - start )) s" | tee -a "$collect/progress.txt"; }
cli() { node dist/ts/cli/main.js "$@"; }

cli data build --dataset spoken-mnist --split train --pairs 10000 --seed 0 --preset small --out "$work/train" > "$collect/data.log" 2>&1
progress "data: exit $?"
timeout "$seconds" node dist/ts/cli/main.js train-base --modality "$modality" --data "$work/train" --config "$config" \
  --out "$work/model" --set "runtime.device=$device" "${@:4}" > "$collect/train.log" 2>&1
progress "train: exit $? (124: stopped at $seconds s)"
declare -A base=([audio]=models/base/spoken-mnist-audio [video]=models/base/spoken-mnist-video)
for candidate in shipped trained; do
  [ $candidate = trained ] && base[$modality]=$work/model
  cli fakes generate --audio-base "${base[audio]}" --video-base "${base[video]}" -n "$pairs" --steps 50 --seed 6000 --device "$device" --out "$work/pairs-$candidate" > "$collect/pairs-$candidate.log" 2>&1 &&
    cli eval pairs --data "$work/pairs-$candidate" --evaluators evaluators/spoken-mnist-small --out "$collect/eval-$candidate.json" >> "$collect/pairs-$candidate.log" 2>&1
  progress "$candidate pairs: exit $?"
done
cp -r "$work/model" "$collect/model" && rm -f "$collect/model/state.bin"
tarball "$out/base-quality.tar.gz" "$collect"
