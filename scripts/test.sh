#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every workspace test
# (unit tests, CLI end-to-end tests, the Python oracle comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
cargo test --workspace --release --no-fail-fast "$@"
