#!/usr/bin/env bash
# The main job: builds the workbench, re-runs every experiment in experiments/ on the
# default CPU backend (results/*.h5), and builds the report (reports/out/report.html).
# Extra arguments go to `workbench reproduce` (e.g. --backend ndarray, --force).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin workbench
"${CARGO_TARGET_DIR:-target}/release/workbench" reproduce "$@"
