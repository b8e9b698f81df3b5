#!/usr/bin/env bash
# The main job: builds the workbench and re-runs every experiment in experiments/ on the
# default CPU backend, writing results/<experiment>.h5.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin workbench
out="${OUT:-results}"
status=0
for file in experiments/*.toml; do
  "${CARGO_TARGET_DIR:-target}/release/workbench" run "$file" --out "$out" "$@" || status=1
done
exit $status
