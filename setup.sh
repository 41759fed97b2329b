#!/usr/bin/env bash
# mmdisco set-up. Installs everything a fresh Debian machine needs (system packages, a prebuilt LibTorch,
# npm packages), builds the native addon and the TypeScript, then runs the main job.
#
#   ./setup.sh                 install + build, then the main job (writes runs/main/)
#   ./setup.sh --test          install + build, then the test suite (what CI runs)
#   ./setup.sh --install-only  install + build only
#
# LibTorch: $LIBTORCH (an unzipped libtorch) if set; else an importable Python torch (GPU machines);
# else torch==2.13.0+cpu in ./.venv. The benchmarks' and tests' PyTorch references also need numpy.
# Every step is idempotent and quick when already done.
set -euo pipefail
cd "$(dirname "$0")"

mode=run
for arg in "$@"; do
  case "$arg" in
    --test) mode=test ;;
    --install-only) mode=install ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown flag '$arg' (expected --test, --install-only or --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- system packages -------------------------------------------------------------------------------
# build tools; media tools for the datasets and previews; real speech; gloo headers for c10d; a font for the
# contact sheets' row labels (a canvas without one draws no text); a browser that the report's test opens the page in
# (test/report/reportBrowser.test.ts, through playwright-core, which downloads none).
apt_packages=(build-essential cmake python3-venv ffmpeg sox libsox-fmt-all espeak-ng flite
  asterisk-core-sounds-en-wav libgloo-dev fonts-dejavu-core chromium)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- LibTorch ----------------------------------------------------------------------------------------
if [ -n "${LIBTORCH:-}" ]; then
  [ -f "$LIBTORCH/share/cmake/Torch/TorchConfig.cmake" ] || { echo "setup.sh: LIBTORCH=$LIBTORCH holds no share/cmake/Torch/TorchConfig.cmake" >&2; exit 1; }
  log "LibTorch from LIBTORCH=$LIBTORCH"
elif [ -x .venv/bin/python3 ] && .venv/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  log "LibTorch from ./.venv ($(.venv/bin/python3 -c 'import torch; print(torch.__version__)'))"
elif python3 -c 'import torch, numpy' 2>/dev/null; then
  log "LibTorch from the system Python ($(python3 -c 'import torch; print(torch.__version__)'))"
else
  log "installing torch==2.13.0+cpu and numpy into ./.venv (prebuilt LibTorch)"
  python3 -m venv .venv
  .venv/bin/pip install -q --retries 0 --timeout 15 torch==2.13.0+cpu numpy
fi

# --- npm packages and build -------------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund
fi
log "building the native addon and the TypeScript"
npm run --silent build
# The `mmdisco` command of the README and --help: package.json's bin, linked onto the PATH by npm (its global prefix
# must be writable; where it is not, `npx mmdisco` in this directory runs the same file).
chmod +x dist/ts/cli/main.js
if npm link --ignore-scripts --no-audit --no-fund --silent >/dev/null 2>&1; then
  log "mmdisco is on the PATH ($(command -v mmdisco))"
else
  log "could not link mmdisco onto the PATH (npm's global prefix is not writable): run it as 'npx mmdisco' here"
fi
mmdisco() { node dist/ts/cli/main.js "$@"; }

case "$mode" in
  install) log "done" ;;
  test) log "running the tests"; npm test ;;
  run)
    log "main job 1/2: the method on the toy problem with a closed-form answer (runs/main)"
    mmdisco toy run --config configs/toy/gmm.json --out runs/main
    log "main job 2/2: spoken-mnist pairs from the shipped base models, independent vs guided vs class-guided (runs/main/spoken-mnist)"
    sm=runs/main/spoken-mnist
    rm -rf "$sm"
    draw=(--audio-base models/base/spoken-mnist-audio --video-base models/base/spoken-mnist-video -n 60 --steps 50 --seed 7)
    mmdisco fakes generate "${draw[@]}" --out "$sm/independent"
    mmdisco sample "${draw[@]}" --guidance models/guidance/spoken-mnist --lambda-audio 2 --lambda-video 2 \
      --out "$sm/guided"
    mmdisco sample "${draw[@]}" --guidance models/guidance/spoken-mnist-class --lambda-audio 4 --lambda-video 4 \
      --class 0 1 2 3 4 5 6 7 8 9 --cfg-scale 4 --out "$sm/class-guided"
    for set in independent guided/pairs class-guided/pairs; do
      mmdisco eval pairs --data "$sm/$set" --evaluators evaluators/spoken-mnist-small --out "$sm/${set%%/*}.json"
    done
    mmdisco results report --work runs/main --out runs/main/report
    log "report: $PWD/runs/main/report/index.html"
    ;;
esac
