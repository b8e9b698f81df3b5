#!/usr/bin/env bash
# Runs the workbench side by side with its PyTorch and JAX yardsticks on this machine and
# prints the ratios. The yardsticks (scripts/yardsticks/*.py) run when `python3` (or
# $PYTHON) can import torch / jax; install them in a virtual environment outside the
# repository, e.g.  python3 -m venv /tmp/yard && /tmp/yard/bin/pip install torch==2.9.0 jax
# and run  PYTHON=/tmp/yard/bin/python bash scripts/yardsticks.sh
#
# Rows: Figure 2 as a whole process (the workbench's `run`, JAX jit+vmap, PyTorch eager
# batched), and the Section 5.3 pipeline of experiments/fig6_table2.toml (SFT and DPO
# response tokens/s, whole time, peak RSS) in f32 and f64 with 2 threads; then the same
# pipeline on a pretrained checkpoint (a 6-layer GPT-NeoX, hidden 256, vocabulary 8192,
# made by scripts/yardsticks/pretrained_torch.py), the workbench against transformers'
# model in PyTorch eager. ONLY=pretrained runs the last section alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
WORKBENCH="${WORKBENCH:-${CARGO_TARGET_DIR:-target}/release/workbench}"
[ -x "$WORKBENCH" ] || { echo "no workbench binary at $WORKBENCH (cargo build --release, or set WORKBENCH)"; exit 1; }
REPEATS="${REPEATS:-5}"
PIPELINE_REPEATS="${PIPELINE_REPEATS:-3}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Median whole-process wall time of a command, over $REPEATS runs.
median_time() {
  local times=()
  for _ in $(seq "$REPEATS"); do
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
has() { "$PYTHON" -c "import $1" > /dev/null 2>&1; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg)"

# One row of workbench `bench` against a PyTorch script, both printing response tokens/s
# per phase; $1 the label, $2 the dtype, $3 the workbench's arguments, the rest the
# PyTorch command.
pipeline_rows() {
  local label=$1 dtype=$2 args=$3
  shift 3
  local bench sft dpo whole rss
  # shellcheck disable=SC2086
  bench=$("$WORKBENCH" bench $args --dtype "$dtype" --repeats "$PIPELINE_REPEATS" 2>/dev/null)
  sft=$(echo "$bench" | awk '/^  sft / {print $3}')
  dpo=$(echo "$bench" | awk '/^  dpo / {print $3}')
  whole=$(echo "$bench" | awk '/whole run/ {print $4}')
  rss=$(echo "$bench" | awk '/peak RSS/ {print $4}')
  echo "  workbench flex $dtype : SFT $sft tok/s, DPO $dpo tok/s, whole ${whole} s, peak RSS ${rss} MB"
  if has torch; then
    runs=()
    for _ in $(seq "$PIPELINE_REPEATS"); do
      runs+=("$( { /usr/bin/time -f "RSS %M" "$@" --dtype "$dtype" --threads 2; } 2>&1 | tr '\n' ' ')")
    done
    # The median of one field over the runs.
    field() { printf '%s\n' "${runs[@]}" | sed -n "$1" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    tsft=$(field 's/.*sft [0-9.]*s (\([0-9]*\) tok\/s.*/\1/p')
    tdpo=$(field 's/.*dpo [0-9.]*s (\([0-9]*\) tok\/s.*/\1/p')
    ttotal=$(field 's/.*total \([0-9.]*\)s.*/\1/p')
    trss=$(( $(field 's/.*RSS \([0-9]*\).*/\1/p') / 1000 ))
    echo "  $label $dtype  : SFT $tsft tok/s, DPO $tdpo tok/s, whole ${ttotal} s (training and scoring), peak RSS ${trss} MB"
    echo "  ratio (workbench / PyTorch tokens/s): SFT $(ratio "$sft" "$tsft"), DPO $(ratio "$dpo" "$tdpo"); peak RSS $(ratio "$rss" "$trss")"
  fi
}

if [ "${ONLY:-}" != pretrained ]; then
echo
echo "Figure 2 (3 methods x 2 models x 11 alpha x 1000 Adam steps), whole process, median of $REPEATS:"
wb=$(median_time "$WORKBENCH" run experiments/fig2_weight_decay.toml --out "$out" --quiet)
echo "  workbench (flex f64)      : ${wb} s"
if has jax; then
  jx=$(median_time "$PYTHON" scripts/yardsticks/fig2_jax.py)
  echo "  JAX jit+vmap+scan         : ${jx} s   (workbench ${wb} s = $(ratio "$jx" "$wb")x faster)"
else
  echo "  JAX                       : not installed for $PYTHON"
fi
if has torch; then
  tb=$(median_time "$PYTHON" scripts/yardsticks/fig2_torch.py batched 2)
  echo "  PyTorch eager, batched    : ${tb} s   (workbench $(ratio "$tb" "$wb")x faster)"
else
  echo "  PyTorch                   : not installed for $PYTHON"
fi

echo
echo "Section 5.3 pipeline (experiments/fig6_table2.toml: 12000 pairs, SFT 2 + DPO 3 epochs), 2 threads, median of $PIPELINE_REPEATS:"
for dtype in f32 f64; do
  pipeline_rows "PyTorch eager" "$dtype" experiments/fig6_table2.toml "$PYTHON" scripts/yardsticks/seq_torch.py
done
fi

echo
echo "Section 5.3 pipeline on a pretrained checkpoint (scripts/yardsticks/pretrained_bench.toml: 6-layer GPT-NeoX, hidden 256, vocabulary 8192, 128 HH pairs of at most 64 tokens, SFT 1 + DPO 1 epoch, batch 16), 2 threads, median of $PIPELINE_REPEATS:"
if has transformers; then
  checkpoint="$out/bench-neox"
  "$PYTHON" scripts/yardsticks/pretrained_torch.py make "$checkpoint" > /dev/null 2>&1
  for dtype in f32 f64; do
    pipeline_rows "transformers eager" "$dtype" "scripts/yardsticks/pretrained_bench.toml --set model.path=\"$checkpoint\"" \
      "$PYTHON" scripts/yardsticks/pretrained_torch.py run "$checkpoint"
  done
else
  echo "  transformers (which makes the checkpoint): not installed for $PYTHON"
fi
