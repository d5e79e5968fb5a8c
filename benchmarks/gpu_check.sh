#!/usr/bin/env bash
# One-shot GPU verification: run on a machine with an NVIDIA GPU, from anywhere
# inside the repository.  It installs minicnn with the CuPy wheel for the GPU,
# runs the whole test suite (CPU, --device cuda, and the slow cases) and the GPU
# benchmarks, and keeps everything in one folder:
#
#   benchmarks/gpu_check.sh [options] [OUTPUT_DIR]     (default: gpu-check-results/<UTC timestamp>)
#
#   --active-env       use the active Python environment (the `python` on PATH) instead of a new venv
#   --venv DIR         make (or reuse) the venv in DIR (default: a fresh one in a temporary folder)
#   --cuda 12|13       CuPy for CUDA 12 or 13: the extra gpu-cuda12 or gpu-cuda13 (also $MINICNN_CUDA);
#                      default 13, or 12 when nvidia-smi says that the driver goes up to CUDA 12 only
#   --no-ctk           do not pip-install the CUDA libraries (the extras' cupy-cuda1Nx[ctk]: cuBLAS,
#                      NVRTC, ...) but the bare CuPy wheel; for a machine with a local CUDA toolkit
#   --torch            also install PyTorch, for the PyTorch-on-GPU column; $TORCH_INDEX_URL picks a build
#                      (e.g. https://download.pytorch.org/whl/cu128), else PyPI's default wheel
#   --no-install       install nothing (the environment already has minicnn[test,gpu-...])
#   --only STEP,...    run only these steps, named as in the summary: nvidia-smi venv pip-upgrade
#                      install install-torch info cuda-available torch-cuda pytest-cuda
#                      bench-gpu pytest-default pytest-slow; to split the check over shorter sessions
#                      (with --venv DIR or --active-env, and the same OUTPUT_DIR each time)
#   -h, --help         this text
#
# The GPU steps come first (the cuda test run, then the benchmarks), so that a run cut short still
# has them.
#
# Environment: PYTHON (interpreter that makes the venv, default python3), MINICNN_BENCH_ARGS (extra
# arguments for `python -m minicnn.bench`, e.g. "--rounds 5 --cpu-rounds 3"), MINICNN_STEP_TIMEOUT
# (seconds; each step is stopped after that long, when `timeout` exists).
#
# Every step runs even when an earlier one failed; its output goes to OUTPUT_DIR/<step>.log and
# the exit codes are summarised in OUTPUT_DIR/summary.txt (this call's steps, rewritten after
# each step, so that it is there even when the run is cut short) and at the end; steps.tsv
# collects the steps of every call into the same folder.  Exit status: 0 when every step that
# ran passed, 1 otherwise.
set -u -o pipefail

usage() {
  sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

use_active=0
venv=""
cuda="${MINICNN_CUDA:-auto}"
ctk=1
with_torch=0
install=1
only=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --active-env) use_active=1 ;;
    --venv) venv="${2:?--venv needs a folder}"; shift ;;
    --cuda) cuda="${2:?--cuda needs 12 or 13}"; shift ;;
    --torch) with_torch=1 ;;
    --no-install) install=0 ;;
    --no-ctk) ctk=0 ;;
    --only) only=",${2:?--only needs step names, comma-separated},"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
case "$cuda" in
  12|13|auto) ;;
  *) echo "gpu_check.sh: --cuda must be 12 or 13, got '$cuda'" >&2; exit 2 ;;
esac

if [ -n "$only" ] && [ "$use_active" -eq 0 ] && [ -z "$venv" ]; then
  echo "gpu_check.sh: --only needs --venv DIR or --active-env (a fresh temporary venv would be empty)" >&2
  exit 2
fi

# paths given on the command line are relative to where the script was called from
case "$venv" in
  ""|/*) ;;
  *) venv="$PWD/$venv" ;;
esac
case "$out" in
  "") ;;
  /*) ;;
  *) out="$PWD/$out" ;;
esac
cd "$(dirname "$0")/.." || exit 2
root="$(pwd)"
[ -n "$out" ] || out="gpu-check-results/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out" || exit 2
out="$(cd "$out" && pwd)"

step_names=()
step_codes=()
step_seconds=()
failed=0

# summary: the table of the steps so far, to OUTPUT_DIR/summary.txt
summary() {
  {
    echo "GPU check in $root, results in $out"
    printf '%-16s %7s %8s\n' step exit seconds
    for i in "${!step_names[@]}"; do
      printf '%-16s %7s %8s\n' "${step_names[$i]}" "${step_codes[$i]}" "${step_seconds[$i]}"
    done
  } >"$out/summary.txt"
}

# step NAME COMMAND...: run COMMAND, its output to the console and to OUTPUT_DIR/NAME.log; record its exit code
step() {
  local name="$1"
  shift
  if [ -n "$only" ] && [[ "$only" != *",$name,"* ]]; then
    return 0
  fi
  local log="$out/$name.log"
  local started=$SECONDS
  local runner=()
  if [ -n "${MINICNN_STEP_TIMEOUT:-}" ] && command -v timeout >/dev/null; then
    runner=(timeout --kill-after=30 "$MINICNN_STEP_TIMEOUT")
  fi
  echo
  echo "=== $name: $*"
  {
    echo "\$ $*"
    echo "# started $(date -u +%Y-%m-%dT%H:%M:%SZ) in $root"
  } >"$log"
  "${runner[@]}" "$@" 2>&1 | tee -a "$log"
  local code=${PIPESTATUS[0]}
  echo "# exit code $code after $((SECONDS - started)) s" >>"$log"
  echo "=== $name: exit code $code ($((SECONDS - started)) s)"
  step_names+=("$name")
  step_codes+=("$code")
  step_seconds+=("$((SECONDS - started))")
  printf '%s\t%s\t%s\t%s\n' "$name" "$code" "$((SECONDS - started))" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >>"$out/steps.tsv"
  [ "$code" -eq 0 ] || failed=1
  summary
}

# ------------------------------------------------------------------ the machine
step nvidia-smi nvidia-smi
nvidia-smi -q >"$out/nvidia-smi-q.txt" 2>&1
{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  git status --short 2>/dev/null
} >"$out/git.txt"
uname -a >"$out/uname.txt" 2>&1
if [ "$cuda" = auto ]; then
  driver_cuda="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\)\..*/\1/p' | head -n 1)"
  if [ "$driver_cuda" = 12 ]; then cuda=12; else cuda=13; fi
  echo "CuPy for CUDA $cuda (nvidia-smi: the driver supports CUDA ${driver_cuda:-?}.x; --cuda 12|13 chooses)" \
    | tee "$out/cuda-choice.txt"
fi

# ------------------------------------------------------------------ the environment
if [ "$use_active" -eq 1 ]; then
  py="$(command -v python || command -v python3)"
else
  [ -n "$venv" ] || venv="$(mktemp -d)/venv"
  if [ ! -x "$venv/bin/python" ]; then
    step venv "${PYTHON:-python3}" -m venv "$venv"
  fi
  py="$venv/bin/python"
fi
echo "python: $py" | tee "$out/python.txt"

if [ "$install" -eq 1 ]; then
  step pip-upgrade "$py" -m pip install --upgrade pip
  if [ "$ctk" -eq 1 ]; then  # the extra brings the CUDA libraries CuPy loads: cupy-cuda1Nx[ctk]
    step install "$py" -m pip install -e ".[test,gpu-cuda$cuda]"
  else  # a local CUDA toolkit provides them: the bare wheel
    step install "$py" -m pip install -e ".[test]" "cupy-cuda${cuda}x>=14"
  fi
  if [ "$with_torch" -eq 1 ]; then
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
      step install-torch "$py" -m pip install torch --index-url "$TORCH_INDEX_URL"
    else
      step install-torch "$py" -m pip install torch
    fi
  fi
fi
"$py" -m pip freeze >"$out/pip-freeze.txt" 2>&1

step info "$py" -m minicnn info
step cuda-available "$py" -c "import minicnn, sys
reason = minicnn.cuda.unavailable_reason()
print('minicnn.cuda.is_available():', reason is None, '' if reason is None else '(' + reason + ')')
sys.exit(0 if reason is None else 1)"
# PyTorch on the GPU is optional: a failure here only when --torch asked for it
step torch-cuda "$py" -c "import sys
asked = sys.argv[1] == '1'
try:
    import torch
except ImportError:
    print('PyTorch is not installed: the GPU benchmark has no PyTorch column (use --torch)')
    sys.exit(1 if asked else 0)
print('PyTorch', torch.__version__, 'CUDA', torch.version.cuda, 'available:', torch.cuda.is_available())
sys.exit(1 if asked and not torch.cuda.is_available() else 0)" "$with_torch"

# ------------------------------------------------------------------ the GPU: tests, then benchmarks
step pytest-cuda "$py" -m pytest -ra --device cuda --junitxml "$out/pytest-cuda.xml"
bench_extra=()
read -r -a bench_extra <<<"${MINICNN_BENCH_ARGS:-}"
step bench-gpu "$py" -m minicnn.bench --device cuda \
  --json "$out/bench-gpu.json" --markdown "$out/bench-gpu.md" --plot "$out/bench-gpu.png" \
  "${bench_extra[@]}"

# ------------------------------------------------------------------ the rest of the tests
step pytest-default "$py" -m pytest -ra --junitxml "$out/pytest-default.xml"
step pytest-slow "$py" -m pytest -ra -m slow --junitxml "$out/pytest-slow.xml"

# ------------------------------------------------------------------ summary
summary
if [ "$failed" -eq 0 ]; then
  echo "every step that ran passed" >>"$out/summary.txt"
else
  echo "some steps FAILED (see their logs in $out)" >>"$out/summary.txt"
fi
echo
cat "$out/summary.txt"
exit "$failed"
