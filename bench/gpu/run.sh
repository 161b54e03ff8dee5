#!/usr/bin/env bash
# The GPU check, in one command, well under 10 minutes on a CUDA machine:
#
#   bash bench/gpu/run.sh                 # results in ${OUT:-bench/out}/gpu_results.md
#
# 1. finds a Python whose torch sees a GPU ($PYTHON, .venv-gpu, .venv, python3), and where
#    none does but an NVIDIA GPU is present, makes .venv-gpu and `pip install torch` there
#    (unpinned: pip picks the CUDA build); installs seqforge's own dependencies if missing;
# 2. runs the CUDA tests (the tests that skip without CUDA, and the device policies);
# 3. runs the GPU measurements of bench/gpu/gpu_bench.py: every cell's sequence path on
#    the GPU against its step loop; the stock recipe vs hand-written cuDNN nn.LSTM in
#    fp32/bf16/fp16; what `compile: auto` decides; the scan and modern cells vs nn.GRU at
#    T=4096 — each part under `timeout`, so one hang loses only that part;
# 4. writes every part's table to gpu_results.md (a part's log next to it in parts/).
#
# Without CUDA it says "no CUDA", writes that to gpu_results.md and exits 0 — it never
# installs anything on a machine without an NVIDIA GPU. GPU_CHECK_ON_CPU=1 runs every
# part at toy sizes on the CPU instead (a check of this script; the numbers mean nothing).
# Offline GPU machine: seqforge's pure-Python dependencies (pydantic, pluggy, pyyaml, rich,
# typer, numpy, matplotlib, pytest, hypothesis) must be importable there already, e.g.
# from a directory put on PYTHONPATH; the script keeps PYTHONPATH and adds this tree.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${OUT:-$ROOT/bench/out}"
mkdir -p "$OUT/parts"
RESULTS="$OUT/gpu_results.md"
SUMMARY="$OUT/parts/summary.md"
log() { echo "[gpu-check] $*"; }
: > "$SUMMARY"

probe() {  # python -> "torch X (CUDA build Y), sees a GPU: True|False", or fails
    "$1" -c 'import torch; print(f"torch {torch.__version__} (CUDA build {torch.version.cuda}), sees a GPU: {torch.cuda.is_available()}")' 2>/dev/null
}

PY="" FOUND=""
for cand in "${PYTHON:-}" "$ROOT/.venv-gpu/bin/python" "$ROOT/.venv/bin/python" python3; do
    [ -n "$cand" ] && command -v "$cand" >/dev/null 2>&1 || continue
    if info=$(probe "$cand"); then
        log "found $cand: $info"
        FOUND="${FOUND}${cand}: ${info}; "
        case "$info" in *": True") PY="$cand"; break ;; esac
    else
        log "found $cand: no torch"
    fi
done

DEVICE=cuda QUICK=""
if [ -z "$PY" ] && [ "${GPU_CHECK_ON_CPU:-0}" = "1" ]; then
    PY="$ROOT/.venv/bin/python"; [ -x "$PY" ] || PY=python3
    DEVICE=cpu QUICK=--quick
    log "GPU_CHECK_ON_CPU=1: every part at toy sizes on the CPU with $PY"
elif [ -z "$PY" ]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        log "an NVIDIA GPU is here ($(nvidia-smi -L | head -n 1)) but no torch sees it:"
        log "making $ROOT/.venv-gpu and installing torch (CUDA build) there"
        python3 -m venv --system-site-packages "$ROOT/.venv-gpu" \
            && timeout 300 "$ROOT/.venv-gpu/bin/python" -m pip install -q torch \
            && info=$(probe "$ROOT/.venv-gpu/bin/python") \
            && case "$info" in *": True") PY="$ROOT/.venv-gpu/bin/python" ;; esac
        log "after installing: ${info:-no torch}"
    fi
    if [ -z "$PY" ]; then
        log "no CUDA: no Python here has a torch that sees a GPU (${FOUND:-no torch at all}) — skipping the GPU check"
        printf '# GPU check\n\nno CUDA on %s (%s): nothing measured.\n\n%s\n' \
            "$(hostname)" "$(date '+%Y-%m-%d %H:%M')" "${FOUND:-no torch found}" > "$RESULTS"
        log "wrote $RESULTS"
        exit 0
    fi
fi

cd "$ROOT" || exit 1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"  # seqforge from this tree, uninstalled
if ! "$PY" -c 'import seqforge.plugins, pytest, hypothesis, matplotlib' 2>/dev/null; then
    log "installing seqforge's dependencies next to $PY's torch (torch itself is kept)"
    timeout 240 "$PY" -m pip install -q -e "$ROOT[dev]" || log "pip install failed; trying anyway"
fi

part() {  # name, timeout (s), command…: log to parts/NAME.log, one summary row
    local name=$1 limit=$2 t0=$SECONDS rc status
    shift 2
    log "== $name (at most ${limit} s)"
    timeout --kill-after=10 "$limit" "$@" > "$OUT/parts/$name.log" 2>&1
    rc=$?
    tail -n 25 "$OUT/parts/$name.log"
    case $rc in
        0) status="ok" ;;
        124|137) status="**timed out** after ${limit} s" ;;
        *) status="**failed** (exit $rc)" ;;
    esac
    echo "| $name | $status | $((SECONDS - t0)) s |" >> "$SUMMARY"
}

bench() {  # name, timeout: one gpu_bench.py part, its table in parts/NAME.md
    rm -f "$OUT/parts/$1.md"
    part "$1" "$2" "$PY" bench/gpu/gpu_bench.py "$1" --device "$DEVICE" $QUICK --out "$OUT/parts/$1.md"
}

START=$SECONDS
bench env 60
if [ "$DEVICE" = cuda ]; then
    part tests 100 "$PY" -m pytest -q -rs tests/test_device.py \
        tests/test_resume.py::test_interrupt_and_resume_on_cuda
else
    part tests 100 "$PY" -m pytest -q -rs tests/test_device.py
fi
bench cells 50
bench stock 100
bench compile 120
bench scaling 150

{
    echo "# GPU check"
    echo
    echo "\`bash bench/gpu/run.sh\` on $(hostname), $(date '+%Y-%m-%d %H:%M'), device $DEVICE, $((SECONDS - START)) s."
    echo
    echo "| part | status | time |"
    echo "|---|---|---|"
    cat "$SUMMARY"
    for name in env tests cells stock compile scaling; do
        echo
        echo "## $name"
        echo
        if [ -s "$OUT/parts/$name.md" ]; then
            cat "$OUT/parts/$name.md"
        else
            echo '```'
            tail -n 15 "$OUT/parts/$name.log"
            echo '```'
        fi
    done
} > "$RESULTS"
log "wrote $RESULTS"
