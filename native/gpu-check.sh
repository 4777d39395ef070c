#!/usr/bin/env bash
# One-shot measurement of Duet's patched llama.cpp on an NVIDIA GPU (docs/native-build.md).
#
#   native/gpu-check.sh prepare
#       Here, with node_modules installed: packs the llama.cpp source node-llama-cpp bundles, with
#       node-llama-cpp's own patch and native/llama.cpp/patches applied, into
#       .cache/gpu-check/llama.cpp-patched.tar.gz (about 10 MB; the whole input stays under 64 MB).
#
#   native/gpu-check.sh run [--out DIR] [--shape 8b|0.6b] [--cuda-arch LIST] [--ctx N] [--cpu] [--threads N]
#       On the GPU machine (CMake, a C++ compiler and nvcc; no network, no Node): builds the CUDA
#       variant and native/gpu-check/raw-bench.cpp from that source, writes a Qwen3-8B-shaped model
#       with random q8_0 weights (8.7 GB, generated there, not carried), and runs the raw decode
#       bench: stock mirroring (decode at the end + K-shift pass) against gap decoding and the K/V
#       copy, plus two exactness checks on the GPU. Writes DIR/gpu-check.json (DIR defaults to
#       $OUT, else ./gpu-check-out). --cpu builds without CUDA, to try the script on any machine.
#       Budget: under 10 minutes on 16 cores (the CUDA build is most of it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
pack_dir="$repo/.cache/gpu-check"
pack="$pack_dir/llama.cpp-patched.tar.gz"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

prepare() {
  local bundle="node_modules/node-llama-cpp/llama/gitRelease.bundle"
  local nlc_patch="node_modules/node-llama-cpp/llama/patches/PR-22566.diff"
  [ -f "$bundle" ] || { echo "gpu-check: $bundle is missing; run npm ci first." >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  git -c advice.detachedHead=false clone -q "$bundle" "$tmp/llama.cpp"
  # node-llama-cpp applies its own patch when it clones; do the same, so the source matches its builds.
  if [ -f "$nlc_patch" ] && git -C "$tmp/llama.cpp" apply --check "$repo/$nlc_patch" 2>/dev/null; then
    git -C "$tmp/llama.cpp" apply "$repo/$nlc_patch"
  fi
  for patch in native/llama.cpp/patches/*.patch; do
    git -C "$tmp/llama.cpp" apply --check "$repo/$patch" || {
      echo "gpu-check: $patch does not apply (see native/README.md)." >&2
      exit 1
    }
    git -C "$tmp/llama.cpp" apply "$repo/$patch"
  done
  mkdir -p "$pack_dir"
  tar -czf "$pack" -C "$tmp" \
    llama.cpp/CMakeLists.txt llama.cpp/LICENSE llama.cpp/cmake llama.cpp/ggml llama.cpp/src \
    llama.cpp/include llama.cpp/vendor llama.cpp/licenses llama.cpp/common
  local size
  size="$(du -m "$pack" | cut -f1)"
  echo "gpu-check: wrote $pack (${size} MB). Carry .cache/gpu-check, then: native/gpu-check.sh run"
  if [ "$size" -gt 60 ]; then
    echo "gpu-check: the pack is over 60 MB; the device input limit is 64 MB." >&2
    exit 1
  fi
}

run() {
  local out="${OUT:-$repo/gpu-check-out}" shape="8b" cuda_arch="native" ctx=4096 cpu=0 threads=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out="$2"; shift 2 ;;
      --shape) shape="$2"; shift 2 ;;
      --cuda-arch) cuda_arch="$2"; shift 2 ;;
      --ctx) ctx="$2"; shift 2 ;;
      --cpu) cpu=1; shift ;;
      --threads) threads="$2"; shift 2 ;;
      *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    esac
  done
  [ -f "$pack" ] || { echo "gpu-check: $pack is missing; run 'native/gpu-check.sh prepare' first and carry .cache/gpu-check." >&2; exit 1; }
  mkdir -p "$out"
  local work="${GPU_CHECK_WORK:-/tmp/duet-gpu-check}"
  mkdir -p "$work"
  local jobs
  jobs="$(nproc 2>/dev/null || echo 8)"
  local generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi

  local t0 t_build t_model t_bench
  t0="$(now)"
  rm -rf "$work/llama.cpp" && tar -xzf "$pack" -C "$work"
  local backend=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$cuda_arch")
  if [ "$cpu" = 1 ]; then backend=(-DGGML_CUDA=OFF); fi
  cmake -S native/gpu-check -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_SOURCE_DIR="$work/llama.cpp" -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_OPENMP=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_HTTPLIB=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_BORINGSSL=OFF \
    "${backend[@]}" >"$out/gpu-check-configure.log" 2>&1 || { tail -40 "$out/gpu-check-configure.log"; exit 1; }
  cmake --build "$work/build" --target duet-raw-bench -j "$jobs" >"$out/gpu-check-build.log" 2>&1 ||
    { tail -40 "$out/gpu-check-build.log"; exit 1; }
  t_build="$(elapsed "$t0")"
  echo "gpu-check: built in ${t_build} s"

  t0="$(now)"
  local model="$work/qwen3-$shape-shape-q8_0.gguf"
  [ -f "$model" ] || "$work/build/duet-raw-bench" make-model "$model" --shape "$shape"
  t_model="$(elapsed "$t0")"
  echo "gpu-check: model ready in ${t_model} s"

  t0="$(now)"
  local layers=999
  if [ "$cpu" = 1 ]; then layers=0; fi
  "$work/build/duet-raw-bench" run "$model" --gpu-layers "$layers" --ctx "$ctx" --fill 600 --steps 32 --threads "$threads" \
    --json "$work/bench.json" 2>&1 | tee "$out/gpu-check-bench.log"
  t_bench="$(elapsed "$t0")"
  {
    printf '{"shape":"%s","cuda":%s,"cudaArch":"%s","jobs":%s,' "$shape" "$([ "$cpu" = 1 ] && echo false || echo true)" "$cuda_arch" "$jobs"
    printf '"seconds":{"build":%s,"model":%s,"bench":%s},' "$t_build" "$t_model" "$t_bench"
    printf '"gpu":"%s","bench":%s}\n' "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)" "$(cat "$work/bench.json")"
  } >"$out/gpu-check.json"
  echo "gpu-check: wrote $out/gpu-check.json"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
