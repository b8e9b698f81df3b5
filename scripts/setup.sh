#!/usr/bin/env bash
# Installs what building and testing dpo-workbench needs, only where it is missing:
#   - cmake >= 3.26 (hdf5-metno's `static` feature builds HDF5 from bundled source),
#     from PyPI when the system's is missing or older;
#   - with --tests: the Python oracle's numpy, scipy, h5py and statsmodels, Debian's chromium, Mesa's
#     software Vulkan driver (lavapipe) so that the wgpu backend runs without a GPU, and
#     Debian's slurm-wlm and munge for the tests against a real Slurm (not with
#     WORKBENCH_EXPECT_SLURM=0).
# Safe to run any number of times.
set -euo pipefail

need_tests=0
[ "${1:-}" = "--tests" ] && need_tests=1

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust >= 1.95 (rustup) first" >&2
  exit 1
fi

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@"
}

cmake_version=$(cmake --version 2>/dev/null | head -n1 | awk '{print $3}' || true)
if [ -z "$cmake_version" ] || ! version_ge "$cmake_version" 3.26; then
  echo "setup: installing cmake >= 3.26 from PyPI (found: ${cmake_version:-none})"
  pip_install "cmake>=3.26"
  hash -r
fi

apt_install() {
  if [ ! -d /var/lib/apt/lists ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  }
}

if [ "$need_tests" = 1 ]; then
  # A real headless browser loads the report in the tests.
  if ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (headless browser for the report test)"
    apt_install chromium
  fi
  # wgpu on a machine without a GPU: Mesa's lavapipe (software Vulkan).
  if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 \
    || ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
    echo "setup: installing Mesa's software Vulkan driver (lavapipe) for the wgpu backend"
    apt_install mesa-vulkan-drivers libvulkan1
  fi
  # A real single-node Slurm for tests/slurm/test.sh (unless Slurm is not expected here).
  if [ "${WORKBENCH_EXPECT_SLURM:-1}" != 0 ]; then
    for command in slurmctld slurmd sbatch munged; do
      if ! command -v "$command" >/dev/null 2>&1; then
        echo "setup: installing Debian's slurm-wlm and munge (a single-node Slurm for the cluster tests)"
        apt_install slurm-wlm munge
        break
      fi
    done
  fi
  if ! python3 -c 'import numpy, scipy, h5py, statsmodels' >/dev/null 2>&1; then
    echo "setup: installing the test oracle's Python packages (numpy, scipy, h5py, statsmodels)"
    pip_install numpy scipy h5py statsmodels
  fi
fi
