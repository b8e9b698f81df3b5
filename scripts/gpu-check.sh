#!/usr/bin/env bash
# GPU check, for a CUDA machine: builds the workbench with the opt-in `tch` and `cuda`
# backends, runs the conformance suite on tch-cuda, cuda and wgpu (against ndarray f64),
# then the benchmarks (Figure 2 end to end, transformer training tokens/s) on every usable
# backend, and prints one table. Record its output in docs/backends.md.
#
#   bash scripts/gpu-check.sh            # everything
#   FEATURES=tch bash scripts/gpu-check.sh   # e.g. without CubeCL CUDA (no nvcc here)
#
# libtorch: a PyTorch 2.9.0 already installed (as on a lent GPU machine) is used through
# LIBTORCH_USE_PYTORCH=1; otherwise scripts/install-libtorch.sh installs one into a venv.
# The `cuda` feature needs the CUDA toolkit (nvcc, NCCL headers) at build time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if python3 -c 'import sys, torch; sys.exit(0 if torch.__version__.split("+")[0] == "2.9.0" else 1)' 2>/dev/null; then
  echo "gpu-check: using the installed PyTorch $(python3 -c 'import torch; print(torch.__version__)')"
  export LIBTORCH_USE_PYTORCH=1
  torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  eval "$(bash scripts/install-libtorch.sh --print-env)"
fi

if [ -z "${FEATURES:-}" ]; then
  FEATURES=tch
  if command -v nvcc >/dev/null 2>&1; then
    FEATURES=tch,cuda
  else
    echo "gpu-check: nvcc not found, so the CubeCL cuda backend is not built (FEATURES=$FEATURES)" >&2
  fi
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
start=$(date +%s)
cargo build --release --bin workbench --features "$FEATURES"
echo "gpu-check: build with --features $FEATURES took $(( $(date +%s) - start )) s"
bin=${CARGO_TARGET_DIR:-target}/release/workbench

$bin list backends
usable=$($bin list backends | awk '$3 == "usable" || /usable here/ {print $1}' | grep -v '^backends' || true)
echo "gpu-check: usable backends: $(echo $usable)"

status=0
args=()
for b in $usable; do args+=(--backend "$b"); done
$bin conformance "${args[@]}" || status=$?

echo
echo "| backend | dtype | Figure 2 batched (s) | SFT tokens/s | DPO tokens/s |"
echo "|---|---|---|---|---|"
for b in $usable; do
  fig2=$($bin bench experiments/fig2_weight_decay.toml --backend "$b" --repeats 3 2>&1 \
    | awk '/batched/ {print $4}') || fig2="failed"
  seq=$($bin bench experiments/fig6_table2.toml --backend "$b" --repeats 3 2>&1) || seq="failed"
  dtype=$(echo "$seq" | sed -n 's/.* on [^ ]* (\(f[0-9]*\)).*/\1/p' | head -n1)
  sft=$(echo "$seq" | awk '/SFT training/ {print $4}')
  dpo=$(echo "$seq" | awk '/DPO training/ {print $4}')
  echo "| $b | ${dtype:-?} | ${fig2:-?} | ${sft:-?} | ${dpo:-?} |"
done
exit $status
