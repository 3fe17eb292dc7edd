#!/usr/bin/env bash
# The prepared GPU check of issue 13 (docs/gpu.md): one script, two halves.
#
#   scripts/gpu-check.sh --prepare            here: pack what travels into gpu-pack/ (git-ignored)
#   scripts/gpu-check.sh --run --out DIR      on the GPU machine: steps 1-4, DIR/summary.json + DIR/log.txt
#   scripts/gpu-check.sh --dry-run            here: --prepare if needed, then --run on the CPU with tiny sizes
#
# --run options: --device cuda (default) | cpu, --budget-s 450 (wall time for everything; the training run gets
# what the measurements leave; the dry run's default is 150), --tiny (the dry run's sizes), --python python3
# (or $SGM_PYTHON: one with torch, for the reference).
#
# What travels: gpu-pack/gpu_check (the stripped release build of crates/sgm-cli/examples/gpu_check.rs with
# --features cuda: the whole `sgm` CLI plus the measurements), gpu-pack/build.env (how it was built), and the
# tracked files (this script, bench/gpu_torch.py, bench/train_step_torch.py and the PyTorch twins in
# crates/sgm-models/tests/param_counts.py). The training data is sgm's synthetic set, generated there: FER+ packed
# as xz'd uint8 is 60 MiB (35,710 × 48² pixels), over the 64 MiB carry budget with the binary (docs/gpu.md).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACK="$REPO/gpu-pack"
MODE=""
OUT=""
DEVICE=cuda
BUDGET=450
TINY=0
PY="${SGM_PYTHON:-python3}"
while [ $# -gt 0 ]; do
    case "$1" in
        --prepare) MODE=prepare; shift ;;
        --run) MODE=run; shift ;;
        --dry-run) MODE=dry; shift ;;
        --out) OUT="$2"; shift 2 ;;
        --device) DEVICE="$2"; shift 2 ;;
        --budget-s) BUDGET="$2"; shift 2 ;;
        --tiny) TINY=1; shift ;;
        --python) PY="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "gpu-check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

prepare() {
    local bin="$REPO/target/release/examples/gpu_check"
    [ -x "$bin" ] || { echo "gpu-check.sh: $bin is missing: run cargo xtask cuda-build first" >&2; exit 1; }
    readelf -d "$bin" | grep -q 'libcublas' || {
        echo "gpu-check.sh: $bin was not built with --features cuda (no libcublas among its libraries)" >&2
        exit 1
    }
    rm -rf "$PACK.tmp" && mkdir -p "$PACK.tmp"
    strip -o "$PACK.tmp/gpu_check" "$bin"
    cp "$REPO/target/cuda/build.env" "$PACK.tmp/build.env" 2>/dev/null || true
    # The CPU machine's stand-in for the driver library, for the dry run only (never used on the GPU machine).
    local stub="${SGM_CUDA_ROOT:-$HOME/.cache/sgm-cuda/root-13.0}/lib64/stubs/libcuda.so"
    mkdir -p "$PACK.tmp/cpu-stub" && cp "$stub" "$PACK.tmp/cpu-stub/libcuda.so.1"
    rm -rf "$PACK" && mv "$PACK.tmp" "$PACK"
    local total
    total=$(du -sb "$PACK" | cut -f1)
    echo "gpu-check.sh: packed $PACK ($((total / 1024 / 1024)) MiB; the 64 MiB carry limit counts the tree too)"
    ls -la "$PACK"
}

# --- the run -----------------------------------------------------------------------------------------------------
run() {
    [ -n "$OUT" ] || { echo "gpu-check.sh: --run needs --out DIR" >&2; exit 2; }
    mkdir -p "$OUT"
    local log="$OUT/log.txt" res="$OUT/results.jsonl" bin="$PACK/gpu_check"
    : >"$res"
    exec > >(tee -a "$log") 2>&1
    local t_start
    t_start=$(date +%s)
    left() { echo $((BUDGET - ($(date +%s) - t_start))); }
    note() { printf '[gpu-check %4ss] %s\n' "$(($(date +%s) - t_start))" "$*"; }
    # Runs "$@" for at most $1 seconds, appending its JSON lines to results.jsonl and everything to the log.
    step() {
        local secs=$1; shift
        if [ "$secs" -lt 5 ]; then
            note "skipped (no time left): $*"
            echo "{\"what\":\"skipped\",\"command\":\"$1 $2\"}" >>"$res"
            return
        fi
        note "($secs s) $*"
        timeout --kill-after=5 "$secs" "$@" | tee -a "$res"
        local rc=${PIPESTATUS[0]}
        [ "$rc" = 0 ] || { note "exit $rc: $*"; echo "{\"what\":\"exit\",\"rc\":$rc,\"command\":\"$1 $2\"}" >>"$res"; }
    }

    # Libraries: the driver's libcuda.so.1 and CUDA 13's cublas/cublasLt/curand/nvrtc/cudart. On the GPU machine
    # they come with the driver (/usr/local/nvidia) and with PyTorch's nvidia-* wheels or /usr/local/cuda.
    local site libs=""
    site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib "$site/nvidia/cu13/lib" /usr/local/cuda/lib64 \
             /usr/local/cuda/targets/x86_64-linux/lib; do
        [ -d "$d" ] && libs="$libs:$d"
    done
    # The dry run here: the wheels' libraries of cuda-build (the GPU machine has its own).
    local wheel_libs="${SGM_CUDA_ROOT:-$HOME/.cache/sgm-cuda/root-13.0}/lib64"
    if [ "$DEVICE" = cpu ] && [ -d "$wheel_libs" ]; then
        libs="$libs:$wheel_libs"
    fi
    [ "$DEVICE" = cpu ] && libs="$libs:$PACK/cpu-stub"
    export LD_LIBRARY_PATH="${libs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    local missing
    missing=$(ldd "$bin" | grep 'not found' || true)
    if [ -n "$missing" ]; then
        note "missing libraries: $missing"
        echo "{\"what\":\"fatal\",\"error\":\"missing libraries: $(echo $missing | tr -d '\"')\"}" >>"$res"
    fi
    local smi
    smi=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1 | tr -d '"')
    note "nvidia-smi: ${smi:-none}"
    echo "{\"what\":\"gpu\",\"nvidia_smi\":\"${smi:-none}\"}" >>"$res"

    # Sizes: the issue's grid on the GPU; tiny ones for the dry run.
    local sizes=48,64,224 batches=64,256 csize=48 cbatch=16 esize=48 ebatch=256 reps=3 warm=1
    local synth=600 tbatch=16
    if [ "$TINY" = 1 ]; then
        sizes=32 batches=4 csize=32 cbatch=4 esize=32 ebatch=4 reps=1 warm=1 synth=12 tbatch=2
    fi

    step 20 "$bin" info --device "$DEVICE"
    step 20 "$PY" "$REPO/bench/gpu_torch.py" info --device "$DEVICE"
    # 1. CPU against the device, every backbone.
    step $(( $(left) * 15 / 100 )) "$bin" compare --device "$DEVICE" --size $csize --batch $cbatch
    # 2. Training steps, sgm then PyTorch, the grid from small to large.
    step $(( $(left) * 30 / 100 )) "$bin" step --device "$DEVICE" --sizes $sizes --batches $batches --reps $reps --warmup $warm
    step $(( $(left) * 25 / 100 )) "$PY" "$REPO/bench/gpu_torch.py" step --device "$DEVICE" --sizes $sizes --batches $batches --reps $reps --warmup $warm
    if [ "$DEVICE" != cpu ]; then
        step $(( $(left) * 10 / 100 )) "$bin" step --device "$DEVICE" --sizes 48,224 --batches 256 --reps $reps --warmup $warm --dtype bf16
    else
        # The CPU refuses a bf16 forward: the check records the refusal.
        step 20 "$bin" step --device cpu --sizes $csize --batches $cbatch --backbones resnet18 --dtype bf16
    fi
    # 3. Embedding throughput.
    step $(( $(left) * 12 / 100 )) "$bin" embed --device "$DEVICE" --size $esize --batch $ebatch --reps $reps --warmup $warm
    step $(( $(left) * 12 / 100 )) "$PY" "$REPO/bench/gpu_torch.py" embed --device "$DEVICE" --size $esize --batch $ebatch --reps $reps --warmup $warm
    # 4. A real training run for the time left (the synthetic set; resumable epochs; test kNN at the end).
    # The run directory stays out of OUT (checkpoints are large and many); its metrics and test report are copied.
    local run_dir="${TMPDIR:-/tmp}/sgm-gpu-check-run" minutes
    minutes=$(awk -v s="$(left)" 'BEGIN { m = (s - 40) / 60; if (m < 0.2) m = 0.2; printf "%.2f", m }')
    local t_train
    t_train=$(date +%s)
    step $(( $(left) - 3 )) "$bin" sgm train --data synth --synth-per-class $synth --backbone resnet18 --size 48 \
        --loss sgm --lr 1e-3 --samples-per-class $tbatch --epochs 500 --device "$DEVICE" --max-minutes "$minutes" \
        --out "$run_dir" --overwrite
    echo "{\"what\":\"train_wall\",\"seconds\":$(( $(date +%s) - t_train )),\"max_minutes\":$minutes}" >>"$res"
    cp "$run_dir/metrics.jsonl" "$run_dir/test_report.json" "$OUT/" 2>/dev/null || true

    note "summary"
    "$PY" - "$OUT" "$DEVICE" "$BUDGET" "$(($(date +%s) - t_start))" <<'EOF'
import json, pathlib, sys
out, device, budget, wall = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = []
for line in (out / "results.jsonl").read_text().splitlines():
    try:
        rows.append(json.loads(line))
    except ValueError:
        pass
def pick(what, impl=None):
    return [r for r in rows if r.get("what") == what and (impl is None or r.get("impl") == impl)]
def key(r):
    return (r["backbone"], r["size"], r["batch"])
def ratios(what, dtype="f32"):
    # Rows without a case (a whole process refused, e.g. bf16 on the CPU) are listed under "problems" only.
    ours = {key(r): r for r in pick(what, "sgm") if "backbone" in r and r.get("dtype", "f32") == dtype}
    theirs = {key(r): r for r in pick(what, "torch") if "backbone" in r}
    table = []
    for k in sorted(set(ours) | set(theirs)):
        a, b = ours.get(k, {}), theirs.get(k, {})
        row = {"backbone": k[0], "size": k[1], "batch": k[2],
               "sgm_s": a.get("median_s"), "torch_s": b.get("median_s"),
               "sgm_images_per_s": a.get("images_per_s"), "torch_images_per_s": b.get("images_per_s")}
        if a.get("median_s") and b.get("median_s"):
            row["ratio_sgm_over_torch"] = a["median_s"] / b["median_s"]
        for side, r in (("sgm", a), ("torch", b)):
            if "error" in r or "skipped" in r:
                row[side + "_note"] = r.get("error") or r.get("skipped")
        table.append(row)
    return table
run = out
metrics = []
if (run / "metrics.jsonl").exists():
    metrics = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
test = json.loads((run / "test_report.json").read_text()) if (run / "test_report.json").exists() else None
def find(d, names):
    if isinstance(d, dict):
        for k, v in d.items():
            if k in names and isinstance(v, (int, float)):
                return v
            f = find(v, names)
            if f is not None:
                return f
    return None
info = {r.get("impl", "sgm"): r for r in pick("info")}
summary = {
    "schema": "sgm-gpu-check/1",
    "device": device,
    "budget_s": budget,
    "wall_s": wall,
    "gpu": (pick("gpu") or [{}])[0].get("nvidia_smi"),
    "sgm": info.get("sgm"),
    "torch": info.get("torch"),
    "compare": [{k: r.get(k) for k in ("backbone", "size", "batch", "train_embedding_max_rel",
                 "eval_embedding_max_rel", "gradient_max_rel", "gradient_worst", "error")}
                for r in pick("compare") if "backbone" in r],
    "train_step": ratios("step"),
    "train_step_bf16": [r for r in ratios("step", "bf16") if r.get("sgm_s") or r.get("sgm_note")],
    "embed": ratios("embed"),
    "training": {
        "epochs_reached": len(metrics),
        "last_epoch": metrics[-1] if metrics else None,
        "test_knn_accuracy": find(test, {"accuracy", "knn_accuracy"}) if test else None,
        "test_report": test,
    },
    "problems": [r for r in rows if r.get("what") in ("exit", "skipped", "fatal") or "error" in r],
}
(out / "summary.json").write_text(json.dumps(summary, indent=1))
print(json.dumps({k: summary[k] for k in ("device", "wall_s")}), "training:",
      json.dumps({k: summary["training"][k] for k in ("epochs_reached", "test_knn_accuracy")}),
      "problems:", len(summary["problems"]))
EOF
    note "done: $OUT/summary.json, $OUT/log.txt"
}

case "$MODE" in
    prepare) prepare ;;
    run) run ;;
    dry)
        [ -x "$PACK/gpu_check" ] || prepare
        DEVICE=cpu TINY=1
        [ "$BUDGET" = 450 ] && BUDGET=150
        [ -n "$OUT" ] || OUT="$REPO/target/gpu-dry-run"
        rm -rf "$OUT"
        run ;;
    *) echo "gpu-check.sh: give --prepare, --run or --dry-run (see --help)" >&2; exit 2 ;;
esac
