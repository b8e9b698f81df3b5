#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every workspace test (unit
# tests, CLI end-to-end tests, the Python oracle comparisons, the cross-backend
# conformance suite) with every backend this machine can run built in: ndarray, flex,
# wgpu (on Mesa's lavapipe when there is no GPU) and libtorch on the CPU (tch-cpu); then
# the Slurm submissions against a real single-node Slurm (tests/slurm/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
# libtorch 2.9.0 (CPU flavour, ~0.9 GB download, cached) for the `tch` feature.
eval "$(bash scripts/install-libtorch.sh --print-env)"
# TRL (pinned) in the torch venv, for tests/trl_losses.rs.
eval "$(bash scripts/oracle-python.sh)"
# These must be usable here, or the backend tests fail instead of skipping them.
export WORKBENCH_REQUIRE_BACKENDS="${WORKBENCH_REQUIRE_BACKENDS:-ndarray,flex,wgpu,tch-cpu}"
status=0
cargo test --workspace --release --no-fail-fast --features tch "$@" || status=$?
# `workbench submit --slurm` and `reproduce --slurm` against a real single-node Slurm
# started here, with the binary the tests just built (WORKBENCH_EXPECT_SLURM=0 where
# Slurm is not expected).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bash tests/slurm/test.sh "$target_dir/release/workbench" || status=$?
[ "$status" = 0 ] || exit "$status"
# The core as a plain library, without HDF5 and file loading, with its example.
cargo check -p workbench --no-default-features --examples
