#!/usr/bin/env bash
# The GPU build, checked where there is no GPU: `cargo check` of the `tch` backend against
# the CUDA 12.8 flavour of libtorch 2.9.0 (PyPI's torch wheel and its nvidia-* wheels,
# installed once by install-libtorch.sh --cuda into a cached venv), in its own target
# folder so the CPU build's torch-sys is left alone.
#
# The `cuda` feature (CubeCL) is not checked here: its build script (tracel-llvm-bundler,
# via cubecl-llvm) downloads a prebuilt LLVM from GitHub releases, which is not on
# crates.io or PyPI. scripts/gpu-check.sh builds and runs it on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/install-libtorch.sh --cuda --print-env)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}-tch-cuda"
cargo check -p backends --no-default-features --features tch
echo "gpu-build-check: the tch backend builds against CUDA libtorch 2.9.0"
