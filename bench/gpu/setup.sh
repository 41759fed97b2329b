# Sourced by the GPU scripts: unpacks Node and node_modules from .gpu/ (bench/gpu/prepare.sh), points the build at
# the machine's own torch, and builds the addon. Sets $out (created) from the first argument.
out=${1:?usage: $0 OUT_DIR}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mkdir -p "$out" /tmp/node/bin
xz -dc .gpu/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
export PATH=/tmp/node/bin:$PATH
[ -d node_modules ] || { mkdir node_modules && xz -dc .gpu/node_modules.tar.xz | tar -C node_modules -xf -; }
export MMDISCO_PYTHON=${MMDISCO_PYTHON:-$(command -v python3)}
export GLOO_INCLUDE_DIR=$PWD/.gpu/include CUDA_TOOLKIT_ROOT_DIR=${CUDA_TOOLKIT_ROOT_DIR:-/usr/local/cuda}
export MMDISCO_BENCH_OUT=$out MMDISCO_CACHE_DIR=$PWD/.cache
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$MMDISCO_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} > "$out/machine.txt" 2>&1
build_start=$(date +%s)
node node_modules/cmake-js/bin/cmake-js compile --out build -p 16 \
  --CDCUDA_TOOLKIT_ROOT_DIR="$CUDA_TOOLKIT_ROOT_DIR" > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
echo "build: $(( $(date +%s) - build_start )) s" | tee -a "$out/machine.txt"
node -e 'const {native}=require("./dist/ts/native"); const i=native.runtimeInfo(); console.log(JSON.stringify({cuda:i.cudaAvailable, devices:i.cudaDevices, gloo:i.gloo}))' | tee -a "$out/machine.txt"

# Writes the gzipped tarball $1 of directory $2 (its paths $3…, default all of it) under a temporary name and renames
# it once complete, so that a run stopped at its limit never leaves a truncated tarball under the final name. tar's
# exit 1 (a file changed while read, by a run still writing) still gives a usable copy.
tarball() {
  local dest=$1 dir=$2
  shift 2
  local part="$dest.part.$BASHPID"
  tar -C "$dir" -czf "$part" "${@:-.}" 2>/dev/null
  if [ $? -le 1 ]; then mv "$part" "$dest"; else rm -f "$part"; return 1; fi
}
