#!/usr/bin/env bash
# A CUDA 13.0 toolchain from NVIDIA's Python wheels, and `sgm` built with `--features cuda` against it, on a
# machine without a GPU or a CUDA install. `cargo xtask cuda-build` runs this script; docs/gpu.md explains it.
#
#   scripts/cuda-toolchain.sh [--root DIR] [--compute-cap 90] [--toolchain-only] [--profile release]
#
# 1. Installs the pinned wheels (below) into a venv under DIR (default ~/.cache/sgm-cuda; never inside the repo).
# 2. Lays out a CUDA root DIR/root-13.0 that candle-kernels (cudaforge) and cudarc accept: bin/nvcc (+ ptxas,
#    nvlink, cicc through nvvm/), include/ (with include/cccl for thrust/cub), lib64/ with the unversioned
#    libX.so names the linker wants, and lib64/stubs/libcuda.so: a link-time stub of the driver library, which no
#    wheel ships (the real libcuda.so.1 comes with the driver on the GPU machine).
# 3. Builds `sgm` and the `gpu_check` example (scripts/gpu-check.sh) with CUDA_COMPUTE_CAP (default 90: PTX for compute_90a, see docs/gpu.md), strips it into
#    target/cuda/sgm, and prints the versions, the build time and the sizes.
#
# Environment: SGM_CUDA_JOBS (cargo -j, default 2).
set -euo pipefail

ROOT_BASE="${HOME}/.cache/sgm-cuda"
CAP=90
PROFILE=release
TOOLCHAIN_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT_BASE="$2"; shift 2 ;;
        --compute-cap) CAP="$2"; shift 2 ;;
        --profile) PROFILE="$2"; shift 2 ;;
        --toolchain-only) TOOLCHAIN_ONLY=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "cuda-toolchain.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

# The CUDA 13.0 series, to match the lent machine's driver (580, CUDA 13.0): PTX newer than the driver does not
# load. The smallest set that builds candle 0.11's kernels and links sgm (docs/gpu.md: what each one is for).
WHEELS=(
    nvidia-cuda-nvcc==13.0.88      # nvcc, ptxas, nvlink, fatbinary
    nvidia-nvvm==13.0.88           # cicc, libdevice
    nvidia-cuda-crt==13.0.88       # crt/ headers nvcc's front end includes
    nvidia-cuda-runtime==13.0.96   # cuda.h, cuda_runtime.h, cuda_fp16.h, libcudart.so.13 (candle-kernels links it)
    nvidia-cuda-cccl==13.0.85      # thrust/cub headers: candle-kernels' moe kernels include thrust
    nvidia-cublas==13.0.2.14       # libcublas.so.13, libcublasLt.so.13 (cudarc links them)
    nvidia-curand==10.4.0.35       # libcurand.so.10 (cudarc links it)
    nvidia-cuda-nvrtc==13.0.88     # libnvrtc.so.13 (cudarc links it)
)

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT_BASE/venv"
CUDA="$ROOT_BASE/root-13.0"
mkdir -p "$ROOT_BASE"
case "$ROOT_BASE" in "$REPO"/*) echo "cuda-toolchain.sh: --root must lie outside the repository" >&2; exit 2 ;; esac

log() { printf '[cuda-toolchain] %s\n' "$*" >&2; }

# --- 1. wheels -------------------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
want=$(printf '%s\n' "${WHEELS[@]}" | sed 's/ *#.*//')
have=$("$VENV/bin/pip" list --format=freeze 2>/dev/null | tr '[:upper:]_' '[:lower:]-' || true)
missing=()
for w in $want; do
    grep -qx "$w" <<<"$have" || missing+=("$w")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    "$VENV/bin/pip" install --quiet --no-deps "${missing[@]}"
fi
SP=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nvidia/cu13
[ -x "$SP/bin/nvcc" ] || { echo "cuda-toolchain.sh: no nvcc in $SP/bin after installing the wheels" >&2; exit 1; }

# --- 2. the CUDA root --------------------------------------------------------------------------------------------
# bin, include and nvvm are the wheels' own folders (nvcc.profile finds cicc and the headers relative to bin/..).
rm -rf "$CUDA.tmp"
mkdir -p "$CUDA.tmp/lib64/stubs"
for d in bin include nvvm; do ln -s "$SP/$d" "$CUDA.tmp/$d"; done
for f in "$SP"/lib/*; do ln -s "$f" "$CUDA.tmp/lib64/$(basename "$f")"; done
# The linker's -lX wants libX.so; the wheels ship only the versioned names.
for f in "$SP"/lib/lib*.so.*; do
    base=$(basename "$f")
    case "$base" in *builtins*|*.alt.*) continue ;; esac
    ln -sf "$base" "$CUDA.tmp/lib64/${base%%.so.*}.so"
done
ln -s lib64 "$CUDA.tmp/lib"

# libcuda.so: a stub exporting every driver entry point cudarc declares, each returning
# CUDA_ERROR_STUB_LIBRARY (34). Linked against, never loaded on a GPU machine (the driver's libcuda.so.1 is);
# loaded on a CPU machine it makes CUDA requests fail cleanly while `--device cpu` works.
CUDARC_VER=$(awk '/^name = "cudarc"/{getline; gsub(/"/,"",$3); print $3; exit}' "$REPO/Cargo.lock")
CUDARC_SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-"$CUDARC_VER" 2>/dev/null | head -1 || true)
if [ -z "$CUDARC_SRC" ]; then
    (cd "$REPO" && cargo fetch --quiet)
    CUDARC_SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-"$CUDARC_VER" | head -1)
fi
grep -oE 'pub unsafe fn cu[A-Za-z0-9_]+' "$CUDARC_SRC/src/driver/sys/mod.rs" | awk '{print $4}' | sort -u \
    | awk '{printf "int %s(void) { return 34; }\n", $1}' >"$CUDA.tmp/lib64/stubs/libcuda_stub.c"
cc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$CUDA.tmp/lib64/stubs/libcuda.so" \
    "$CUDA.tmp/lib64/stubs/libcuda_stub.c"
ln -s libcuda.so "$CUDA.tmp/lib64/stubs/libcuda.so.1"
rm -rf "$CUDA"
mv "$CUDA.tmp" "$CUDA"

NVCC_VERSION=$("$CUDA/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\), V\([0-9.]*\).*/\2/p')
log "CUDA root $CUDA (nvcc $NVCC_VERSION)"
{
    echo "CUDA_ROOT=$CUDA"
    echo "NVCC_VERSION=$NVCC_VERSION"
    echo "CUDA_COMPUTE_CAP=$CAP"
    printf 'WHEEL %s\n' $want
} >"$ROOT_BASE/toolchain.env"
if [ "$TOOLCHAIN_ONLY" = 1 ]; then
    echo "$CUDA"
    exit 0
fi

# --- 3. the build ------------------------------------------------------------------------------------------------
export CUDA_ROOT="$CUDA" CUDA_PATH="$CUDA" CUDA_HOME="$CUDA" NVCC="$CUDA/bin/nvcc"
export PATH="$CUDA/bin:$PATH"
export CUDA_COMPUTE_CAP="$CAP"
export LIBRARY_PATH="$CUDA/lib64:$CUDA/lib64/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
cd "$REPO"
start=$(date +%s)
log "cargo build --profile $PROFILE -p sgm-cli --features cuda --bin sgm --example gpu_check (CUDA_COMPUTE_CAP=$CAP)"
cargo build --profile "$PROFILE" -p sgm-cli --features cuda --bin sgm --example gpu_check -j "${SGM_CUDA_JOBS:-2}"
secs=$(( $(date +%s) - start ))
dir=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
mkdir -p target/cuda
strip -o target/cuda/sgm "target/$dir/sgm"
raw=$(stat -c %s "target/$dir/sgm")
stripped=$(stat -c %s target/cuda/sgm)
{
    cat "$ROOT_BASE/toolchain.env"
    echo "BUILD_SECONDS=$secs"
    echo "BINARY_BYTES=$raw"
    echo "STRIPPED_BYTES=$stripped"
    echo "RUSTC=$(rustc --version)"
    echo "NEEDED=$(readelf -d target/cuda/sgm | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
} >target/cuda/build.env
log "built in ${secs}s; target/cuda/sgm: $stripped bytes stripped ($raw unstripped)"
log "dynamic libraries it needs:"
readelf -d target/cuda/sgm | sed -n 's/.*(NEEDED).*\[\(.*\)\]/  \1/p' >&2
